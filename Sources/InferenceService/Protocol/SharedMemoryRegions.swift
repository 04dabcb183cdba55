import FleetProtos
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Triton's system shared-memory extension: a client on the same host puts tensors in POSIX
/// shared-memory objects it registers by name, and ModelInfer inputs and outputs name a region
/// (`shared_memory_region`, `shared_memory_offset`, `shared_memory_byte_size`) instead of
/// carrying bytes. Off unless vf-serve runs with `--allow-client-shm` (Triton's own default):
/// registering lets a client make the server map any object under /dev/shm.
public final class SharedMemoryRegions: Sendable {
    public let allowClients: Bool
    /// Each region holds a descriptor and a mapping: a bound keeps clients from exhausting them.
    public static let maxRegions = 1024
    private let regions = Mutex<[String: MappedRegion]>([:])

    public init(allowClients: Bool) { self.allowClients = allowClients }

    private func checkAllowed() throws(ServeError) {
        guard allowClients else {
            throw .unsupported("client shared memory is off: start vf-serve with --allow-client-shm (env VF_SERVE_ALLOW_CLIENT_SHM=1)")
        }
    }

    /// Maps `byteSize` bytes at `offset` of the object `key`; the name must be new.
    public func register(name: String, key: String, offset: UInt64, byteSize: UInt64) throws(ServeError) {
        try checkAllowed()
        guard !name.isEmpty else { throw .invalidArgument(item: "", field: "name", message: "must not be empty") }
        guard key.hasPrefix("/"), key.count > 1, !key.dropFirst().contains("/") else {
            throw .invalidArgument(item: name, field: "key", message: "'\(key)' is not a shared-memory object name (one '/' then a name)")
        }
        guard byteSize > 0 else { throw .invalidArgument(item: name, field: "byte_size", message: "must be at least 1") }
        guard regions.withLock({ $0[name] == nil }) else { throw .alreadyExists("shared memory region '\(name)' is already registered") }
        let region = try MappedRegion(name: name, key: key, offset: offset, byteSize: byteSize)
        try regions.withLock { (all) throws(ServeError) in
            guard all[name] == nil else { throw .alreadyExists("shared memory region '\(name)' is already registered") }
            guard all.count < Self.maxRegions else {
                throw .resourceExhausted("\(Self.maxRegions) shared memory regions are registered already; unregister some first")
            }
            all[name] = region
        }
    }

    /// Forgets one region (all when `name` is empty). A request still using it keeps its mapping.
    public func unregister(name: String) throws(ServeError) {
        try checkAllowed()
        if name.isEmpty { regions.withLock { $0.removeAll() }; return }
        guard regions.withLock({ $0.removeValue(forKey: name) }) != nil else {
            throw .notFound("no shared memory region '\(name)' is registered")
        }
    }

    /// The registered regions (one when `name` is given).
    public func status(name: String) throws(ServeError) -> [String: Inference_SystemSharedMemoryStatusResponse.RegionStatus] {
        let all = regions.withLock { $0 }
        let chosen = name.isEmpty ? Array(all.values) : all[name].map { [$0] } ?? []
        guard name.isEmpty || !chosen.isEmpty else { throw .notFound("no shared memory region '\(name)' is registered") }
        var out: [String: Inference_SystemSharedMemoryStatusResponse.RegionStatus] = [:]
        for r in chosen {
            out[r.name] = .with { $0.name = r.name; $0.key = r.key; $0.offset = r.offset; $0.byteSize = UInt64(r.byteSize) }
        }
        return out
    }

    /// The tensor's shared-memory parameters, or nil when it carries its bytes in the request.
    struct Reference {
        let region: MappedRegion
        let offset: Int
        let byteSize: Int
    }

    /// Reads the tensor's `shared_memory_*` parameters (Triton's rules: a region needs a byte
    /// size; an offset or size needs a region) and finds the region; `item` names the tensor.
    func reference(_ parameters: [String: Inference_InferParameter], item: String) throws(ServeError) -> Reference? {
        func int64(_ key: String) throws(ServeError) -> Int64? {
            guard let p = parameters[key] else { return nil }
            guard case .int64Param(let v)? = p.parameterChoice, v >= 0 else {
                throw .invalidArgument(item: item, field: "parameters.\(key)", message: "must be a non-negative int64_param")
            }
            return v
        }
        let offset = try int64("shared_memory_offset"), size = try int64("shared_memory_byte_size")
        guard let p = parameters["shared_memory_region"] else {
            if offset != nil || size != nil {
                throw .invalidArgument(item: item, field: "parameters.shared_memory_region",
                                       message: "shared_memory_offset / shared_memory_byte_size given without a region")
            }
            return nil
        }
        guard case .stringParam(let name)? = p.parameterChoice else {
            throw .invalidArgument(item: item, field: "parameters.shared_memory_region", message: "must be a string_param")
        }
        guard let size else {
            throw .invalidArgument(item: item, field: "parameters.shared_memory_byte_size", message: "is required with shared_memory_region")
        }
        try checkAllowed()
        guard let region = regions.withLock({ $0[name] }) else { throw .notFound("no shared memory region '\(name)' is registered") }
        try region.checkIntact()
        let start = offset ?? 0
        guard start <= Int64(region.byteSize), size <= Int64(region.byteSize) - start else {
            throw .invalidArgument(item: item, field: "parameters.shared_memory_byte_size",
                                   message: "\(start)+\(size) bytes is outside region '\(name)' of \(region.byteSize) bytes")
        }
        return Reference(region: region, offset: Int(start), byteSize: Int(size))
    }
}

/// One registered region's mapping, unmapped when the last holder lets go.
final class MappedRegion: @unchecked Sendable {
    let name: String
    let key: String
    let offset: UInt64
    let byteSize: Int
    /// Kept open to check the object's size before each use: touching a mapping past the end
    /// of an object its client has since shrunk would fault the whole process.
    private let fd: Int32
    /// The mapping starts at the page below `offset`; `base` is the region's first byte.
    private let mapping: UnsafeMutableRawPointer
    private let mappingLength: Int
    private let base: UnsafeMutableRawPointer

    init(name: String, key: String, offset: UInt64, byteSize: UInt64) throws(ServeError) {
        let fd = shm_open(key, O_RDWR, 0)
        guard fd >= 0 else {
            throw .invalidArgument(item: name, field: "key", message: "cannot open shared memory object '\(key)': \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw .invalidArgument(item: name, field: "key", message: "cannot stat '\(key)': \(String(cString: strerror(errno)))")
        }
        guard offset <= UInt64(info.st_size), byteSize <= UInt64(info.st_size) - offset else {
            close(fd)
            throw .invalidArgument(item: name, field: "byte_size",
                                   message: "offset \(offset) + \(byteSize) bytes is past the end of '\(key)' (\(info.st_size) bytes)")
        }
        let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        let length = Int(offset - start + byteSize)
        guard let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(start)), mapped != MAP_FAILED else {
            close(fd)
            throw .invalidArgument(item: name, field: "key", message: "cannot map '\(key)': \(String(cString: strerror(errno)))")
        }
        self.name = name
        self.key = key
        self.offset = offset
        self.byteSize = Int(byteSize)
        self.fd = fd
        mapping = mapped
        mappingLength = length
        base = mapped + Int(offset - start)
    }

    deinit {
        munmap(mapping, mappingLength)
        close(fd)
    }

    /// Fails when the object no longer covers the region (its client truncated it).
    func checkIntact() throws(ServeError) {
        var info = stat()
        guard fstat(fd, &info) == 0, UInt64(info.st_size) >= offset + UInt64(byteSize) else {
            throw .invalidArgument(item: name, field: "key", message: "shared memory object '\(key)' no longer covers the region (truncated?)")
        }
    }

    /// A copy of `count` bytes at `at` (checked against the region by `reference`).
    func read(at: Int, count: Int) -> Data { Data(bytes: base + at, count: count) }

    /// Copies `data` to `at`.
    func write(_ data: Data, at: Int) {
        guard !data.isEmpty else { return }
        data.withUnsafeBytes { (base + at).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
}
