/// Bar charts as inline SVG: no scripts, so the page works with a strict content security policy
/// and renders the same in every browser. Every bar carries `data-series`, `data-category` and
/// `data-value` so tests (and curious users) can read the numbers from the DOM.
struct SVGChart {
    /// One stacked series.
    struct Series {
        var name: String
        var values: [Double]
    }

    var title: String
    var unit: String
    var categories: [String]
    var series: [Series]

    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// The chart's SVG (or a note when there is nothing to draw).
    func render(id: String) -> String {
        let totals = categories.indices.map { i in series.reduce(0) { $0 + ($1.values.indices.contains(i) ? $1.values[i] : 0) } }
        let maximum = totals.max() ?? 0
        guard !categories.isEmpty, maximum > 0 else {
            return "<figure class=\"chart\" id=\"\(id)\"><figcaption>\(HTML.escape(title))</figcaption><p class=\"empty\">No usage in this period.</p></figure>"
        }
        let width = 720.0, height = 260.0, left = 70.0, bottom = 40.0, top = 10.0
        let plotW = width - left - 10, plotH = height - bottom - top
        let slot = plotW / Double(categories.count)
        let barW = max(2, min(48, slot * 0.7))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">"
        // Axis with four gridlines.
        for step in 0...4 {
            let v = maximum * Double(step) / 4, y = top + plotH - plotH * Double(step) / 4
            svg += "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(Self.f(y))\" y2=\"\(Self.f(y))\" class=\"grid\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(Self.f(y + 4))\" class=\"tick\" text-anchor=\"end\">\(Self.short(v))</text>"
        }
        for (i, category) in categories.enumerated() {
            let x = left + slot * Double(i) + (slot - barW) / 2
            var base = top + plotH
            for (s, serie) in series.enumerated() {
                let value = serie.values.indices.contains(i) ? serie.values[i] : 0
                guard value > 0 else { continue }
                let h = plotH * value / maximum
                base -= h
                svg += "<rect class=\"bar\" x=\"\(Self.f(x))\" y=\"\(Self.f(base))\" width=\"\(Self.f(barW))\" height=\"\(Self.f(h))\" fill=\"\(Self.palette[s % Self.palette.count])\""
                svg += " data-series=\"\(HTML.escape(serie.name))\" data-category=\"\(HTML.escape(category))\" data-value=\"\(Self.f(value))\">"
                svg += "<title>\(HTML.escape(serie.name)) \(HTML.escape(category)): \(Self.short(value)) \(HTML.escape(unit))</title></rect>"
            }
            if categories.count <= 24 || i % max(1, categories.count / 12) == 0 {
                svg += "<text x=\"\(Self.f(x + barW / 2))\" y=\"\(Self.f(top + plotH + 16))\" class=\"label\" text-anchor=\"middle\">\(HTML.escape(category))</text>"
            }
        }
        svg += "<text x=\"12\" y=\"\(Self.f(top + plotH / 2))\" class=\"unit\" transform=\"rotate(-90 12 \(Self.f(top + plotH / 2)))\" text-anchor=\"middle\">\(HTML.escape(unit))</text>"
        svg += "</svg>"
        let legend = series.count > 1 || (series.first.map { !$0.name.isEmpty } ?? false)
            ? "<ul class=\"legend\">" + series.enumerated().map { s, serie in
                "<li><span style=\"background:\(Self.palette[s % Self.palette.count])\"></span>\(HTML.escape(serie.name))</li>"
            }.joined() + "</ul>"
            : ""
        return "<figure class=\"chart\" id=\"\(id)\"><figcaption>\(HTML.escape(title))</figcaption>\(svg)\(legend)</figure>"
    }

    /// Two decimals at most, no exponent.
    static func f(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int64(r)) : String(r)
    }

    /// 1234567 → "1.23M".
    static func short(_ v: Double) -> String {
        switch abs(v) {
        case 1e9...: return f(v / 1e9) + "G"
        case 1e6...: return f(v / 1e6) + "M"
        case 1e4...: return f(v / 1e3) + "k"
        default: return f(v)
        }
    }
}

/// HTML escaping.
enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
