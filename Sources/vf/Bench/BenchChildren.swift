import Dispatch
import Foundation
import Synchronization

/// The servers a benchmark started, stopped when `vf bench` itself is interrupted (Ctrl-C or
/// SIGTERM): a `defer` does not run on a signal, and they would outlive it holding ports and CPU.
enum BenchChildren {
    private static let running = Mutex<[Int32: Process]>([:])
    private static let sources = Mutex<[any DispatchSourceSignal]>([])

    static func add(_ process: Process) {
        installOnce()
        running.withLock { $0[process.processIdentifier] = process }
    }

    static func remove(_ process: Process) {
        _ = running.withLock { $0.removeValue(forKey: process.processIdentifier) }
    }

    private static func installOnce() {
        sources.withLock { sources in
            guard sources.isEmpty else { return }
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler {
                    let children = running.withLock { Array($0.values) }
                    for child in children where child.isRunning { child.terminate() }
                    for child in children { child.waitUntilExit() }
                    exit(128 + signalNumber)
                }
                source.resume()
                sources.append(source)
            }
        }
    }
}
