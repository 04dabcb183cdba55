/// Container formats recognised by their first bytes.
public enum ImageFormat: String, Sendable, CaseIterable {
    case png, jpeg

    /// The format of encoded bytes, or nil when the signature is neither PNG nor JPEG.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.count >= 8, bytes[0] == 0x89, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47 { return .png }
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        return nil
    }

    /// A name for an unrecognised signature, for error messages.
    static func describeUnknown(_ bytes: UnsafeRawBufferPointer) -> String {
        if bytes.isEmpty { return "empty file" }
        if bytes.count >= 2, bytes[0] == 0x42, bytes[1] == 0x4D { return "BMP is not supported; convert to PNG" }
        if bytes.count >= 4, bytes[0] == 0x47, bytes[1] == 0x49, bytes[2] == 0x46 { return "GIF is not supported; convert to PNG" }
        if bytes.count >= 12, bytes[8] == 0x57, bytes[9] == 0x45, bytes[10] == 0x42, bytes[11] == 0x50 {
            return "WebP is not supported; convert to PNG or JPEG"
        }
        let head = bytes.prefix(4).map { String($0, radix: 16) }.joined(separator: " ")
        return "unrecognised signature \(head); PNG and JPEG are read"
    }
}
