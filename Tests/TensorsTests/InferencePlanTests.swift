import CDNNL
import Foundation
import XCTest
@testable import Tensors
@testable import VisionModels

final class InferencePlanTests: XCTestCase {
    /// Folded batch norm + fused ReLU/residual equal the eval-mode graph within 1e-4 relative.
    func testFusedPlanEqualsEvalGraph() throws {
        let model = try CIFARResNet(depth: 20, inputChannels: 3, classes: 10, seed: 3)
        var rng = RandomState(seed: 4)
        // Give batch norm non-trivial statistics and affine parameters.
        for (name, t) in model.stateDict() where name.contains("bn") || name.contains("shortcut.1") {
            for i in 0..<t.count {
                if name.hasSuffix("running_var") { t[i] = 0.5 + rng.nextFloat() }
                else { t[i] = t[i] + 0.2 * (rng.nextFloat() - 0.5) }
            }
        }
        let x = Tensor(normal: [3, 3, 32, 32], std: 1, rng: &rng)
        let eval = Graph.inference()
        let reference = try model(Variable(x), eval).value.scalars
        let plan = try model.inferencePlan()
        for backend in [InferencePlan.Backend.oneDNN, .engine] {
            plan.backend = backend
            let fused = try plan.run(x).scalars
            assertClose(fused, reference, tol: 1e-4)
            // Buffers are reused across calls: a second run gives the same answer.
            let again = try plan.run(x).scalars
            XCTAssertEqual(again, fused, "\(backend)")
        }
        XCTAssertNil(plan.oneDNNFailure)
        XCTAssertLessThanOrEqual(plan.oneDNNReorders(batch: 3) ?? 99, 1, "at most one reorder: the plain input into oneDNN's layout")
        // stem 442,368 + stage1 6×2,359,296 + stages 2 and 3 each (1,179,648 + 5×2,359,296 + 131,072) + fc 640
        XCTAssertEqual(plan.macsPerSample, 40_813_184)
        XCTAssertThrowsError(try plan.run(Tensor(zeros: [1, 1, 32, 32])))
    }

    /// A concat of whole channel blocks is copied image by image by the network's own op: here
    /// parts of 16, 32 and 16 channels from space-to-depth, which writes nChw8c on every machine
    /// (oneDNN's convolutions choose their own layouts: channels-last under brgconv on AVX-512).
    /// One with a 4-channel part falls back to oneDNN's concat. Both agree with the engine at
    /// batch 1, 3 and 20 (over a megabyte: copied on both threads).
    func testBlockedConcatMatchesTheEngine() throws {
        var rng = RandomState(seed: 5)
        let plan = InferencePlan(inputShape: [8, 32, 32])
        let a = try plan.spaceToDepth(try plan.conv(plan.input, Conv2d(8, 4, kernel: 3, padding: 1, bias: true, rng: &rng), activation: .silu))
        let b = try plan.spaceToDepth(plan.input)
        let c = try plan.spaceToDepth(try plan.conv(plan.input, Conv2d(8, 4, kernel: 1, bias: true, rng: &rng), activation: .relu))
        let odd = try plan.conv(b, Conv2d(32, 4, kernel: 1, bias: true, rng: &rng))
        let whole = try plan.concat([a, b, c])
        let mixed = try plan.concat([whole, odd])
        _ = try plan.conv(mixed, Conv2d(68, 8, kernel: 1, bias: true, rng: &rng))
        try Self.assertOneDNNMatchesTheEngine(plan, batches: [1, 3, 20], image: [8, 32, 32], rng: &rng)
        plan.profiling = true
        _ = try plan.run(Tensor(normal: [2, 8, 32, 32], std: 1, rng: &rng))
        let concats = plan.lastProfile.map(\.0).filter { $0.hasPrefix("concat") }
        XCTAssertEqual(concats.count, 2, "\(plan.lastProfile.map(\.0))")
        XCTAssertEqual(concats.first, "concat [visionfleet:c]", "\(plan.lastProfile.map(\.0))")
        XCTAssertNotEqual(concats.last, "concat [visionfleet:c]")
    }

    /// The blocked concat with nChw16c parts (the layout of oneDNN's AVX-512 convolutions before
    /// brgconv; no machine seen since chose it, so the parts are laid out by hand): 48 + 48
    /// channels are copied image by image by the network's own op, and an nChw8c part beside
    /// them falls back to oneDNN's concat. Both equal a naive channel concatenation.
    func testSixteenChannelBlocksConcatenate() throws {
        let (n, c, h, w) = (3, 48, 5, 7)
        let net = try XCTUnwrap(vf_dnnl_net_create(Int32(n), Int32(c), Int32(h), Int32(w), 1))
        defer { vf_dnnl_net_destroy(net) }
        func checked(_ slot: Int32) throws -> Int32 {
            guard slot >= 0 else {
                XCTFail(String(cString: vf_dnnl_net_error(net)))
                throw CancellationError()
            }
            return slot
        }
        let sixteen = try checked(vf_dnnl_net_relayout(net, 0, 16))
        let doubled = try checked(vf_dnnl_net_add(net, sixteen, sixteen))  // in sixteen's layout
        let whole = try checked([sixteen, doubled].withUnsafeBufferPointer { vf_dnnl_net_concat(net, $0.baseAddress, 2) })
        let eight = try checked(vf_dnnl_net_relayout(net, 0, 8))
        let mixed = try checked([whole, eight].withUnsafeBufferPointer { vf_dnnl_net_concat(net, $0.baseAddress, 2) })
        XCTAssertEqual(vf_dnnl_net_set_output(net, mixed), 0)
        var rng = RandomState(seed: 9)
        let x = (0..<(n * c * h * w)).map { _ in rng.nextFloat() - 0.5 }
        var out = [Float](repeating: .nan, count: n * 3 * c * h * w)
        XCTAssertEqual(vf_dnnl_net_run(net, x, &out), 0, String(cString: vf_dnnl_net_error(net)))
        let plane = c * h * w
        for image in 0..<n {
            let source = Array(x[(image * plane)..<((image + 1) * plane)])
            let expected = source + source.map { $0 + $0 } + source
            XCTAssertEqual(Array(out[(image * 3 * plane)..<((image + 1) * 3 * plane)]), expected, "image \(image)")
        }
        let concats = (0..<vf_dnnl_net_op_count(net)).filter { String(cString: vf_dnnl_net_op_name(net, $0)) == "concat" }
            .map { String(cString: vf_dnnl_net_op_impl(net, $0)) }
        XCTAssertEqual(concats.count, 2)
        XCTAssertEqual(concats.first, "visionfleet:c", "whole nChw16c blocks: the network's own copy")
        XCTAssertNotEqual(concats.last, "visionfleet:c", "an nChw8c part beside nChw16c ones: oneDNN's concat")
        // A layout it does not know is an error naming it, not a crash.
        XCTAssertEqual(vf_dnnl_net_relayout(net, 0, 4), -1)
        XCTAssertTrue(String(cString: vf_dnnl_net_error(net)).contains("block 0, 8 or 16"))
    }

    /// oneDNN and the engine's kernels agree on every step kind the plans use: dilated and
    /// grouped convolutions, every activation as a post-op, a residual sum before an activation
    /// and one after it, max pooling, global
    /// average pooling and a linear layer, at three batch sizes (one network each; 37 runs in
    /// chunks of `oneDNNChunk`).
    func testOneDNNMatchesTheEngineOnEveryStep() throws {
        var rng = RandomState(seed: 11)
        let plan = InferencePlan(inputShape: [4, 12, 12])
        var x = plan.input
        for (i, activation) in Activation.allCases.enumerated() {
            let conv = Conv2d(4, 4, kernel: 3, stride: 1, padding: i % 2 == 0 ? 1 : 2, dilation: i % 2 == 0 ? 1 : 2,
                              groups: i % 3 == 0 ? 2 : 1, bias: true, rng: &rng)
            x = try plan.conv(x, conv, residual: i == 2 || i == 4 ? x : nil, activation: activation, residualAfterActivation: i == 4)
        }
        x = plan.maxPool(x, kernel: 3, stride: 2, padding: 1)
        x = try plan.conv(x, Conv2d(4, 8, kernel: 1, stride: 2, rng: &rng))
        x = plan.globalAvgPool(x)
        _ = plan.linear(x, Linear(8, 5, rng: &rng))
        try Self.assertOneDNNMatchesTheEngine(plan, batches: [1, 3, 37], image: [4, 12, 12], rng: &rng)
        plan.profiling = true
        _ = try plan.run(Tensor(normal: [3, 4, 12, 12], std: 1, rng: &rng))
        XCTAssertTrue(plan.lastProfile.contains { $0.0.contains("conv3x3") && $0.0.contains("[") }, "\(plan.lastProfile.map(\.0))")
    }

    /// A one-thread plan whose networks were compiled on a thread set for two (vf-serve's loader
    /// thread; its batcher thread runs them) still runs on one thread: oneDNN fixes a primitive's
    /// thread count when it is created, so a second OpenMP worker here would spin against the
    /// model's other instance. Threads inherit their creator's name, so any worker the probe
    /// thread's runs start shows up under the probe's name.
    func testOneThreadPlanCompiledElsewhereRunsOnOneThread() throws {
        let model = try CIFARResNet(depth: 20, inputChannels: 3, classes: 10, seed: 5)
        let plan = try model.inferencePlan()
        plan.threads = 1
        var rng = RandomState(seed: 6)
        let x = Tensor(normal: [4, 3, 32, 32], std: 1, rng: &rng)
        nonisolated(unsafe) var compiled: [Float] = []
        nonisolated(unsafe) var probed: [[Float]] = []
        nonisolated(unsafe) var namesakes = -1
        func onThread(_ name: String, _ body: @escaping @Sendable () -> Void) {
            let done = DispatchSemaphore(value: 0)
            // Thread.name does not reach the kernel's name on Linux: set it from inside.
            let thread = Thread {
                FileHandle(forWritingAtPath: "/proc/thread-self/comm")?.write(Data(name.utf8))
                body()
                done.signal()
            }
            thread.start()
            done.wait()
        }
        onThread("vf-omp-build") {
            _ = vf_omp_swap_threads(2)
            compiled = (try? plan.run(x).scalars) ?? []
        }
        let name = "vf-omp-probe"
        onThread(name) {
            for _ in 0..<3 { probed.append((try? plan.run(x).scalars) ?? []) }
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            namesakes = tasks.filter { task in
                // /proc files report size 0: read to the end instead of by size.
                let comm = FileHandle(forReadingAtPath: "/proc/self/task/\(task)/comm")?.readDataToEndOfFile() ?? Data()
                return String(decoding: comm, as: UTF8.self).hasPrefix(name)
            }.count
        }
        XCTAssertNil(plan.oneDNNFailure)
        XCTAssertEqual(compiled.count, 40)
        for p in probed { XCTAssertEqual(p, compiled) }
        XCTAssertEqual(namesakes, 1, "the one-thread plan started OpenMP workers on the thread that ran it")
    }

    /// The plan on oneDNN equals it on the engine's kernels (1e-4) for random inputs at each batch size.
    static func assertOneDNNMatchesTheEngine(_ plan: InferencePlan, batches: [Int], image: [Int], rng: inout RandomState,
                                             file: StaticString = #filePath, line: UInt = #line) throws {
        for batch in batches {
            let input = Tensor(normal: [batch] + image, std: 1, rng: &rng)
            plan.backend = .engine
            let reference = try plan.run(input).scalars
            plan.backend = .oneDNN
            let viaOneDNN = try plan.run(input).scalars
            XCTAssertNil(plan.oneDNNFailure, file: file, line: line)
            assertClose(viaOneDNN, reference, tol: 1e-4, "batch \(batch)", file: file, line: line)
        }
    }
}
