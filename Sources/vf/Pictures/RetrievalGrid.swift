import VisionData

/// Queries beside their nearest gallery images: one row per query, the query first (framed
/// dark), then its hits left to right with label and similarity under each; a hit whose label
/// matches the query's known label is framed green, another red (grey when unknown).
enum RetrievalGrid {
    struct Tile {
        var image: PixelImage
        var caption: String
        /// nil: no verdict; true: the same class as the query.
        var match: Bool?
    }

    struct Row {
        var query: Tile
        var hits: [Tile]
    }

    static func draw(_ rows: [Row], tile: Int = 96, title: String? = nil) -> PixelImage {
        let pad = 10, caption = 22, gap = 24
        let columns = rows.map { 1 + $0.hits.count }.max() ?? 1
        let top = title == nil ? pad : pad + 26
        let width = max(pad + columns * (tile + pad) + gap, 2 * pad + Canvas.textWidth(title ?? "", scale: 2))
        let height = top + rows.count * (tile + caption + pad) + pad
        var canvas = Canvas(width: width, height: height)
        if let title { canvas.text(title, x: pad, y: pad, Canvas.black, scale: 2) }
        for (r, row) in rows.enumerated() {
            let y = top + r * (tile + caption + pad)
            for (c, t) in ([row.query] + row.hits).enumerated() {
                let x = pad + c * (tile + pad) + (c > 0 ? gap : 0)
                canvas.paste(t.image, x: x, y: y, width: tile, height: tile)
                let frame: Canvas.Color = c == 0 ? (40, 40, 40) : t.match.map { $0 ? (44, 160, 44) : (214, 39, 40) } ?? Canvas.grey
                canvas.strokeRect(x0: x - 3, y0: y - 3, x1: x + tile + 2, y1: y + tile + 2, frame, thickness: 3)
                let text = String(t.caption.prefix(tile / 6))
                let scale = Canvas.textWidth(text, scale: 2) <= tile ? 2 : 1
                canvas.text(text, x: x, y: y + tile + 5, Canvas.black, scale: scale)
            }
        }
        return canvas.image
    }
}
