import Foundation

/// Triton's load generator `perf_analyzer`, made runnable on demand by scripts/perf-analyzer.sh.
public enum PerfAnalyzer {
    public static let path: String = {
        guard let result = try? runProcess("/bin/bash", [Repo.path("scripts/perf-analyzer.sh")]), result.status == 0 else {
            return "perf-analyzer-setup-failed"
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }()
}
