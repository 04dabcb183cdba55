import CBLAS
import Foundation

/// OpenBLAS 0.3.21 (Debian bookworm) does not recognise some current Xeons ("Intel Xeon
/// Processor" under a hypervisor) and falls back to its Prescott (SSE3) kernels, which run
/// sgemm at half speed. The kernel set is fixed when the library loads, so an executable
/// calls `reexecIfMisdetected()` first thing: when OpenBLAS chose a core weaker than the CPU's
/// flags allow, the process re-executes itself with `OPENBLAS_CORETYPE` set. An explicit
/// `OPENBLAS_CORETYPE` is always respected.
public enum BLASCore {
    /// The kernel set OpenBLAS is using ("Prescott", "Haswell", "SkylakeX", ...).
    public static var current: String { String(cString: openblas_get_corename()) }

    /// The best kernel set this CPU supports, from /proc/cpuinfo flags.
    public static var best: String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(line.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    static let weakCores: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine", "northwood", "banias"]

    /// Re-executes this process with a better `OPENBLAS_CORETYPE` when OpenBLAS misdetected the
    /// CPU. Returns normally when nothing needs doing (or re-execution is impossible).
    public static func reexecIfMisdetected() {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, weakCores.contains(current.lowercased()), let best else { return }
        setenv("OPENBLAS_CORETYPE", best, 1)
        let args = CommandLine.arguments
        var cArgs = args.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &cArgs)
        // execv only returns on failure: carry on with the slow kernels.
        for p in cArgs { free(p) }
    }
}
