import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads an import's small files ahead of the sender, on worker threads, straight into
/// serialized `ImportDatasetRequest` messages (`chunks`, one whole-file `FileChunk` per file),
/// handed over in list order. No `Data`, message struct or encoding pass per file, and one
/// hand-over per message of up to `messageFiles` files instead of one per file: a 70,000-file
/// upload cost its client more CPU than the files' reads themselves.
///
/// Sizes come from each opened file (`fstat`), not from the walk: a `stat` by path costs a
/// second path lookup per file. So the list is read in claims of consecutive files, each
/// claimed by one worker, sized from the bytes per file seen so far to hold about one message;
/// a claim's worker hands over its messages (and its large files, left to the sender at their
/// place) as it closes them, and the sender takes them claim by claim.
///
/// A disk answers many small reads at once far faster than one after another (20,000
/// thumbnails not in the page cache: 2.4 s read in turn, 0.7 s sixteen at a time), so workers
/// start at two and one is added each time a message's reads blocked (voluntary context
/// switches: a cold cache or a network file system), up to `threads`; a busy CPU preempting a
/// worker adds none. At most `window` claims are open, and a claim the sender is not at stops
/// before its next message while `maxBytes` bytes wait to be taken.
/// The workers run until the list is read: a sender that stops early calls `cancel`.
public final class ImportMessageReader: @unchecked Sendable {
    public enum Part {
        /// A serialized request carrying `files` whole, `bytes` of file content in all.
        case message([UInt8], files: Range<Int>, bytes: Int64)
        /// A file over the small-file limit: the sender streams it in chunks.
        case large(Int)
    }

    /// Consecutive files read by one worker; its parts wait here for the sender.
    private final class Claim {
        let files: Range<Int>
        var parts: [Result<Part, any Error>] = []
        var done = false
        init(_ files: Range<Int>) { self.files = files }
    }

    private let root: String
    private let files: [String]
    private let maxFileBytes: Int
    private let messageBytes: Int
    private let messageFiles: Int
    private let window: Int
    private let maxBytes: Int
    private let maxWorkers: Int
    /// One mutex; the sender waits on `ready`, workers on `room`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let ready = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let room = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`:
    /// Claims not yet fully taken, in list order.
    private var claims: [Claim] = []
    private var nextToClaim = 0
    private var bytesWaiting = 0
    private var filesRead = 0
    private var bytesRead = 0
    private var workersRunning = 0
    private var cancelled = false

    /// `root`: the folder the relative `files` lie in. Files over `maxFileBytes` are left to the
    /// sender; the others travel together, a message closed once it holds `messageBytes` bytes
    /// or `messageFiles` files (or at a large file, or at the end of a claim).
    public init(root: String, files: [String], maxFileBytes: Int, messageBytes: Int, messageFiles: Int,
                threads: Int = 16, window: Int = 16, maxBytes: Int = 64 << 20) {
        self.root = root.hasSuffix("/") ? root : root + "/"
        self.files = files
        self.maxFileBytes = maxFileBytes
        self.messageBytes = max(1, messageBytes)
        self.messageFiles = max(1, messageFiles)
        self.window = max(1, window)
        self.maxBytes = maxBytes
        maxWorkers = max(1, min(threads, files.count))
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(ready, nil)
        pthread_cond_init(room, nil)
        guard !files.isEmpty else { return }
        workersRunning = min(2, maxWorkers)
        for _ in 0..<workersRunning { startWorker() }
    }

    private func startWorker() {
        let thread = Thread { [self] in work() }
        thread.name = "visionfleet.import-read"
        thread.start()
    }

    deinit {
        pthread_cond_destroy(room)
        pthread_cond_destroy(ready)
        pthread_mutex_destroy(mutex)
        room.deallocate()
        ready.deallocate()
        mutex.deallocate()
    }

    /// The next part in list order, nil after the last; throws the read error of a message's file.
    public func next() throws -> Part? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let first = claims.first {
                if !first.parts.isEmpty {
                    let part = first.parts.removeFirst()
                    if case .success(.message(_, _, let bytes)) = part { bytesWaiting -= Int(bytes) }
                    pthread_cond_broadcast(room)
                    return try part.get()
                }
                if first.done {
                    claims.removeFirst()
                    pthread_cond_broadcast(room)
                    continue
                }
            } else if nextToClaim >= files.count {
                return nil
            }
            pthread_cond_wait(ready, mutex)
        }
    }

    /// Stops the workers (messages read but not taken are dropped); returns once none is reading.
    public func cancel() {
        pthread_mutex_lock(mutex)
        cancelled = true
        pthread_cond_broadcast(room)
        while workersRunning > 0 { pthread_cond_wait(ready, mutex) }
        pthread_mutex_unlock(mutex)
    }

    /// Files for the next claim: about one message's worth at the bytes per file seen so far
    /// (64 files before any was read).
    private func claimSize() -> Int {
        guard filesRead > 0 else { return min(messageFiles, 64) }
        let perFile = max(1, bytesRead / filesRead)
        return max(1, min(messageFiles, messageBytes / perFile))
    }

    private func work() {
        let folder = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        var scratch = Scratch()
        pthread_mutex_lock(mutex)
        defer {
            workersRunning -= 1
            pthread_cond_broadcast(ready)
            pthread_mutex_unlock(mutex)
            if folder >= 0 { close(folder) }
        }
        while true {
            guard !cancelled, nextToClaim < files.count else { return }
            if !claims.isEmpty, claims.count >= window || bytesWaiting >= maxBytes {
                pthread_cond_wait(room, mutex)
                continue
            }
            let end = min(files.count, nextToClaim + claimSize())
            let claim = Claim(nextToClaim..<end)
            nextToClaim = end
            claims.append(claim)
            read(claim, folder: folder, scratch: &scratch)  // unlocks while reading
            claim.done = true
            if claims.first === claim { pthread_cond_signal(ready) }
        }
    }

    /// Reads a claim's files into messages, handing each over as it closes. Called and
    /// returns with `mutex` held; reads without it.
    private func read(_ claim: Claim, folder: Int32, scratch: inout Scratch) {
        var i = claim.files.lowerBound
        while i < claim.files.upperBound {
            // A claim the sender is not at waits while enough is read ahead.
            while !cancelled, claims.first !== claim, bytesWaiting >= maxBytes { pthread_cond_wait(room, mutex) }
            if cancelled { return }
            pthread_mutex_unlock(mutex)
            let switchesBefore = Self.voluntarySwitches()
            scratch.clear()
            var large: Int?
            var failure: (any Error)?
            let start = i
            while i < claim.files.upperBound, scratch.sizes.count < messageFiles, scratch.bytes < messageBytes {
                let file = i
                i += 1
                do {
                    if try !scratch.append(path: files[file], root: root, folder: folder, maxBytes: maxFileBytes) {
                        large = file
                        break
                    }
                } catch {
                    failure = error  // the message fails here; the next starts after this file
                    break
                }
            }
            let messageEnd = large ?? i
            let encoded: Result<Part, any Error>? = if let failure { .failure(failure) } else if messageEnd > start {
                .success(.message(scratch.encode(files[start..<messageEnd]), files: start..<messageEnd, bytes: Int64(scratch.bytes)))
            } else { nil }
            let blocked = Self.voluntarySwitches() - switchesBefore
            pthread_mutex_lock(mutex)
            if let encoded {
                claim.parts.append(encoded)
                if case .success = encoded { bytesWaiting += scratch.bytes }
            }
            if let large { claim.parts.append(.success(.large(large))) }
            filesRead += scratch.sizes.count + (large == nil ? 0 : 1)
            bytesRead += scratch.bytes + (large.map { _ in maxFileBytes + 1 } ?? 0)
            if claims.first === claim { pthread_cond_signal(ready) }
            if blocked * 8 >= max(1, i - start), workersRunning < maxWorkers, !cancelled {
                workersRunning += 1
                startWorker()
            }
        }
    }

    /// This thread's voluntary context switches so far: a read that waited for a device.
    private static func voluntarySwitches() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD (GNU, not imported)
        return usage.ru_nvcsw
    }

    /// One message's files as they are read: their bytes back to back and each one's size.
    /// A worker's own, reused from message to message.
    private struct Scratch {
        var data: [UInt8] = []
        var sizes: [Int] = []
        var bytes = 0

        mutating func clear() {
            sizes.removeAll(keepingCapacity: true)
            bytes = 0
        }

        /// Reads the whole file after the others; false (nothing read) when it is over `maxBytes`.
        mutating func append(path: String, root: String, folder: Int32, maxBytes: Int) throws -> Bool {
            let fd = folder >= 0 ? openat(folder, path, O_RDONLY | O_CLOEXEC) : open(root + path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: root + path]) }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: root + path,
                                                              NSLocalizedDescriptionKey: "\(root + path) is not a regular file"])
            }
            let size = Int(info.st_size)
            guard size <= maxBytes else { return false }
            if data.count < bytes + size { data.append(contentsOf: repeatElement(0, count: max(bytes + size - data.count, data.count))) }
            var done = 0
            try data.withUnsafeMutableBufferPointer { buffer in
                let target = buffer.baseAddress! + bytes
                while done < size {
                    let n = Glibc.read(fd, target + done, size - done)
                    if n < 0, errno == EINTR { continue }
                    guard n > 0 else {
                        throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: root + path,
                                                                      NSLocalizedDescriptionKey: "\(root + path) changed while it was read (\(done) of \(size) bytes)"])
                    }
                    done += n
                }
            }
            sizes.append(size)
            bytes += size
            return true
        }

        /// `ImportDatasetRequest { chunks = 3: FileChunkBatch { chunks = 1: FileChunk { path = 1,
        /// data = 2, last = 4 } ... } }` of the files read.
        func encode(_ paths: ArraySlice<String>) -> [UInt8] {
            var batchLength = 0
            for (path, size) in zip(paths, sizes) { batchLength += Wire.fieldLength(Wire.chunkLength(path: path.utf8.count, size: size)) }
            let total = Wire.fieldLength(batchLength)
            return [UInt8](unsafeUninitializedCapacity: total) { buffer, count in
                let base = buffer.baseAddress!
                var at = Wire.put(tag: 0x1A, length: batchLength, into: base)
                var offset = 0
                data.withUnsafeBufferPointer { content in
                    for (path, size) in zip(paths, sizes) {
                        var path = path
                        let pathLength = path.utf8.count
                        at = Wire.put(tag: 0x0A, length: Wire.chunkLength(path: pathLength, size: size), into: at)
                        at = Wire.put(tag: 0x0A, length: pathLength, into: at)
                        path.withUTF8 { at.update(from: $0.baseAddress!, count: pathLength) }
                        at += pathLength
                        if size > 0 {
                            at = Wire.put(tag: 0x12, length: size, into: at)
                            at.update(from: content.baseAddress! + offset, count: size)
                            at += size
                            offset += size
                        }
                        at[0] = 0x20  // last = true
                        at[1] = 1
                        at += 2
                    }
                }
                precondition(at - base == total, "import message length")
                count = total
            }
        }
    }

    /// Protocol-buffer wire format, as far as these messages need it.
    enum Wire {
        static func varintLength(_ value: Int) -> Int {
            var value = UInt64(value)
            var length = 1
            while value >= 0x80 { value >>= 7; length += 1 }
            return length
        }

        /// A length-delimited field: tag, length, body.
        static func fieldLength(_ body: Int) -> Int { 1 + varintLength(body) + body }

        /// A whole-file chunk: path, data (absent when empty), last.
        static func chunkLength(path: Int, size: Int) -> Int {
            fieldLength(path) + (size > 0 ? fieldLength(size) : 0) + 2
        }

        static func put(tag: UInt8, length: Int, into at: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
            at[0] = tag
            var value = UInt64(length)
            var p = at + 1
            while value >= 0x80 {
                p[0] = UInt8(truncatingIfNeeded: value) | 0x80
                value >>= 7
                p += 1
            }
            p[0] = UInt8(value)
            return p + 1
        }
    }
}
