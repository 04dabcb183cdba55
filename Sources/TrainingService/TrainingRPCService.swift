import FleetProtos
import FleetRPC
import FleetStore
import Foundation

/// vf-train's `visionfleet.v1.TrainingService`: the RPC edge over `TrainingJobs`.
public struct TrainingRPCService: RPCService {
    typealias Methods = ServiceCatalog.TrainingService
    public let jobs: TrainingJobs
    public let runner: JobRunner?

    public init(jobs: TrainingJobs, runner: JobRunner? = nil) {
        self.jobs = jobs
        self.runner = runner
    }

    public var serviceName: String { Methods.name }

    public func register(into router: inout RPCRouter) {
        let jobs = jobs
        let runner = runner
        router.unary(Methods.submitJob.path) { (request: Visionfleet_V1_SubmitJobRequest, _) in
            try await jobs.submit(request)
        }
        router.unary(Methods.getJob.path) { (request: Visionfleet_V1_GetJobRequest, _) in
            try jobs.store.job(request.id)
        }
        router.unary(Methods.listJobs.path) { (request: Visionfleet_V1_ListJobsRequest, _) in
            guard let size = PageCursor.size(request.page.pageSize) else {
                throw TrainingError.invalidArgument(item: "", field: "page.page_size", message: "must not be negative")
            }
            guard let after = PageCursor.decode(request.page.pageToken) else {
                throw TrainingError.invalidArgument(item: request.page.pageToken, field: "page.page_token", message: "not a token this service issued")
            }
            let (list, total) = try jobs.store.list(state: request.state, model: request.modelName, after: after, limit: size)
            return Visionfleet_V1_ListJobsResponse.with {
                $0.jobs = list
                $0.page.totalCount = Int64(total)
                if list.count == size, let last = list.last { $0.page.nextPageToken = PageCursor.encode(last.id) }
            }
        }
        router.unary(Methods.cancelJob.path) { (request: Visionfleet_V1_CancelJobRequest, _) in
            try jobs.cancel(request.id)
        }
        router.unary(Methods.validateConfig.path) { (request: Visionfleet_V1_ValidateConfigRequest, _) in
            jobs.validate(request)
        }
        router.unary(Methods.retryPublish.path) { (request: Visionfleet_V1_RetryPublishRequest, _) in
            guard let runner else { throw TrainingError.failedPrecondition("this vf-train runs no jobs") }
            return try await runner.retryPublish(request.id)
        }
        router.serverStreaming(Methods.watchJob.path) { (request: Visionfleet_V1_WatchJobRequest, writer: ResponseWriter<Visionfleet_V1_JobEvent>, _) in
            try await jobs.watch(request.id, from: request.fromSequence) { try await writer.write($0) }
        }
    }
}
