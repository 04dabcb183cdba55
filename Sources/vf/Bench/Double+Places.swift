import Foundation

extension Double {
    /// Rounded to `places` decimals, for the benchmarks' JSON figures.
    func rounded(toPlaces places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}
