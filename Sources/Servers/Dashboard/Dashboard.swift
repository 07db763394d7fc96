import Foundation
import Gen
import WeftHTTP2
import WeftPodKit
import WeftProtobuf
import WeftRPC

/// The accounting dashboard: one HTML page with SVG charts, served over HTTP/2 beside the gRPC
/// services (`GET /dashboard`). It is a client of the accounting service like any other, so the
/// caller's `authorization` header is forwarded and the same policy applies (`accounting.read`).
///
/// Query parameters: `from` and `to` (`YYYY-MM`, default the last 12 months), `site` and `vo`
/// (repeatable or comma-separated). No scripts: filters are a plain GET form.
public struct Dashboard: Sendable {
    private let accounting: Weft_Accounting_V1_AccountingService.Client
    private let now: @Sendable () -> Date

    /// Creates the dashboard over an accounting client (typically in-process, through the same
    /// interceptors as remote calls).
    public init(accounting: Weft_Accounting_V1_AccountingService.Client, now: @escaping @Sendable () -> Date = Date.init) {
        self.accounting = accounting
        self.now = now
    }

    /// Answers a request; hand it to ``HTTP2Server`` as its ``PlainHTTPHandler``.
    public func handle(_ request: PlainHTTPRequest) async -> PlainHTTPResponse {
        switch request.pathWithoutQuery {
        case "/": return PlainHTTPResponse(status: 302, headers: [HTTP2Header("location", "/dashboard")])
        case "/dashboard", "/dashboard/": break
        default: return page(404, title: "Not found", body: "<p>Nothing here. The dashboard is at <a href=\"/dashboard\">/dashboard</a>.</p>")
        }
        let filter: Filter
        do { filter = try Filter(request.query, now: now()) } catch {
            return page(400, title: "Bad filter", body: "<p>\(HTML.escape("\(error)"))</p>")
        }
        var options = CallOptions(timeout: .seconds(30))
        if let authorization = request.headers.first(where: { $0.name == "authorization" }) {
            options.metadata.addString(authorization.value, forKey: "authorization")
        }
        do {
            return page(200, title: "Weft accounting", body: try await render(filter, options: options))
        } catch let e as RPCError {
            let status = e.code == .unauthenticated ? 401 : e.code == .permissionDenied ? 403 : 502
            return page(status, title: "Accounting unavailable", body: "<p class=\"error\">\(HTML.escape("\(e.code): \(e.message)"))</p>")
        } catch {
            return page(500, title: "Dashboard error", body: "<p class=\"error\">\(HTML.escape("\(error)"))</p>")
        }
    }

    // MARK: Queries

    private func rows(_ kind: Weft_Accounting_V1_SummaryKind, _ filter: Filter, _ groupBy: [Weft_Accounting_V1_GroupByKey], options: CallOptions) async throws -> [Weft_Accounting_V1_SummaryRow] {
        var request = Weft_Accounting_V1_QuerySummariesRequest.with {
            $0.kind = kind
            $0.filter = filter.summaryFilter
            $0.groupBy = groupBy
            $0.pageSize = 1000
        }
        var rows: [Weft_Accounting_V1_SummaryRow] = []
        repeat {
            let response = try await accounting.querySummaries(request, options: options)
            rows += response.rows
            request.pageToken = response.nextPageToken
        } while !request.pageToken.isEmpty && rows.count < 100_000
        return rows
    }

    private func render(_ filter: Filter, options: CallOptions) async throws -> String {
        let months = filter.months
        let byMonthSite = try await rows(.job, filter, [.month, .site], options: options)
        let byVO = try await rows(.job, filter, [.vo], options: options)
        let byMonth = try await rows(.job, filter, [.month], options: options)
        let accelerators = try await rows(.accelerator, filter, [.month, .site], options: options)
        let latest = try await rows(.job, filter, [.site, .month, .vo], options: options)

        func month(_ k: Weft_Accounting_V1_SummaryKey) -> String { Filter.format(year: Int(k.year), month: Int(k.month)) }
        func job(_ r: Weft_Accounting_V1_SummaryRow) -> Weft_Accounting_V1_JobUsage {
            if case .job(let j)? = r.usage { return j }
            return .init()
        }
        func bySeries(_ rows: [Weft_Accounting_V1_SummaryRow], series: (Weft_Accounting_V1_SummaryRow) -> String, value: (Weft_Accounting_V1_SummaryRow) -> Double) -> [SVGChart.Series] {
            var table: [String: [Double]] = [:]
            for r in rows {
                guard let i = months.firstIndex(of: month(r.key)) else { continue }
                table[series(r), default: Array(repeating: 0, count: months.count)][i] += value(r)
            }
            return table.keys.sorted().map { SVGChart.Series(name: $0, values: table[$0] ?? []) }
        }

        let coreHours = SVGChart(title: "Core-hours by month and site", unit: "core-hours", categories: months,
                                 series: bySeries(byMonthSite, series: { $0.key.site }, value: { Double(job($0).coreSeconds) / 3600 }))
        let jobs = SVGChart(title: "Jobs by month and site", unit: "jobs", categories: months,
                            series: bySeries(byMonthSite, series: { $0.key.site }, value: { Double(job($0).numberOfJobs) }))
        var normalised: [String: [Double]] = [:]
        for r in byMonth {
            guard let i = months.firstIndex(of: month(r.key)) else { continue }
            for (type, seconds) in job(r).normalisedWallDurations {
                normalised[type, default: Array(repeating: 0, count: months.count)][i] += Double(seconds) / 3600
            }
        }
        let normalisedChart = SVGChart(title: "Normalised wall time by month and benchmark", unit: "benchmark-hours", categories: months,
                                       series: normalised.keys.sorted().map { SVGChart.Series(name: $0, values: normalised[$0] ?? []) })
        let voRows = byVO.sorted { job($0).coreSeconds > job($1).coreSeconds }.prefix(20)
        let voChart = SVGChart(title: "Core-hours by VO", unit: "core-hours", categories: voRows.map { $0.key.vo.isEmpty ? "(none)" : $0.key.vo },
                               series: [SVGChart.Series(name: "", values: voRows.map { Double(job($0).coreSeconds) / 3600 })])
        let acceleratorChart = SVGChart(
            title: "Accelerator hours by month and site", unit: "device-hours", categories: months,
            series: bySeries(accelerators, series: { $0.key.site }, value: {
                if case .accelerator(let a)? = $0.usage { return a.activeDeviceSeconds / 3600 }
                return 0
            }))

        let sortedLatest = latest.sorted {
            ($0.key.year, $0.key.month, $0.key.site, $0.key.vo) > ($1.key.year, $1.key.month, $1.key.site, $1.key.vo)
        }.prefix(50)
        var table = "<table id=\"latest\"><thead><tr><th>Site</th><th>Month</th><th>VO</th><th>Jobs</th><th>Core-hours</th><th>Wall hours</th><th>CPU hours</th><th>Normalised</th><th>Updated</th></tr></thead><tbody>"
        for r in sortedLatest {
            let j = job(r)
            let norm = j.normalisedWallDurations.sorted { $0.key < $1.key }.map { "\($0.key) \(SVGChart.short(Double($0.value) / 3600))" }.joined(separator: ", ")
            table += "<tr><td>\(HTML.escape(r.key.site))</td><td>\(month(r.key))</td><td>\(HTML.escape(r.key.vo))</td><td>\(j.numberOfJobs)</td>"
            table += "<td>\(SVGChart.f(Double(j.coreSeconds) / 3600))</td><td>\(SVGChart.f(Double(j.wallDuration.seconds) / 3600))</td>"
            table += "<td>\(SVGChart.f(Double(j.cpuDuration.seconds) / 3600))</td><td>\(HTML.escape(norm))</td>"
            table += "<td>\(r.hasUpdateTime ? r.updateTime.rfc3339Nano.prefix(19) + "Z" : "")</td></tr>"
        }
        table += "</tbody></table>"
        if sortedLatest.isEmpty { table = "<p class=\"empty\" id=\"latest\">No summaries in this period.</p>" }

        return filter.form + "<section class=\"charts\">"
            + coreHours.render(id: "core-hours") + normalisedChart.render(id: "normalised") + jobs.render(id: "jobs")
            + voChart.render(id: "core-hours-by-vo") + acceleratorChart.render(id: "accelerator-hours")
            + "</section><h2>Latest summaries</h2>" + table
    }

    // MARK: Page

    private func page(_ status: Int, title: String, body: String) -> PlainHTTPResponse {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(HTML.escape(title))</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>\(Self.style)</style></head><body><header><h1>\(HTML.escape(title))</h1></header><main>\(body)</main>
            <footer>Weft accounting · summaries as APEL groups them · updated as records arrive</footer></body></html>
            """
        return PlainHTTPResponse(status: status, headers: [
            HTTP2Header("content-type", "text/html; charset=utf-8"),
            HTTP2Header("cache-control", "no-store"),
            HTTP2Header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
        ], body: Array(html.utf8))
    }

    private static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}header{background:#243b53;color:#fff;padding:8px 16px}
        h1{font-size:18px;margin:0}main{padding:12px 16px}form{margin-bottom:12px}form label{margin-right:10px}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:16px}
        figure{margin:0;border:1px solid #ddd;border-radius:4px;padding:8px}figcaption{font-weight:600;margin-bottom:4px}
        svg{width:100%;height:auto}.grid{stroke:#eee}.tick,.label,.unit{font-size:10px;fill:#555}
        .legend{list-style:none;padding:0;margin:4px 0 0;display:flex;flex-wrap:wrap;gap:10px;font-size:12px}
        .legend span{display:inline-block;width:10px;height:10px;margin-right:4px}
        table{border-collapse:collapse;margin-top:8px}td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}
        .error{color:#b00}.empty{color:#777}footer{color:#777;font-size:12px;padding:8px 16px}
        """
}

/// The dashboard's filters, from the query string.
struct Filter {
    var from: (year: Int, month: Int)
    var to: (year: Int, month: Int)
    var sites: [String]
    var vos: [String]

    struct Invalid: Error, CustomStringConvertible { var description: String }

    init(_ query: [(name: String, value: String)], now: Date) throws {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC") ?? .current, from: now)
        let current = (c.year ?? 1970, c.month ?? 1)
        to = current
        from = current.1 == 12 ? (current.0, 1) : (current.0 - 1, current.1 + 1)
        sites = []
        vos = []
        for (name, value) in query where !value.isEmpty {
            switch name {
            case "from": from = try Self.parse(value, "from")
            case "to": to = try Self.parse(value, "to")
            case "site": sites += value.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            case "vo": vos += value.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            default: break
            }
        }
        guard from.year * 12 + from.month <= to.year * 12 + to.month else { throw Invalid(description: "from (\(Self.format(year: from.year, month: from.month))) is after to") }
        guard (to.year * 12 + to.month) - (from.year * 12 + from.month) < 120 else { throw Invalid(description: "at most 120 months at once") }
    }

    static func parse(_ s: String, _ name: String) throws -> (year: Int, month: Int) {
        let parts = s.split(separator: "-")
        guard parts.count == 2, let y = Int(parts[0]), let m = Int(parts[1]), (1970...9999).contains(y), (1...12).contains(m) else {
            throw Invalid(description: "\(name)=\(s): use YYYY-MM")
        }
        return (y, m)
    }

    static func format(year: Int, month: Int) -> String { String(format: "%04d-%02d", year, month) }

    /// Every month of the period, oldest first.
    var months: [String] {
        stride(from: from.year * 12 + from.month - 1, through: to.year * 12 + to.month - 1, by: 1).map { Self.format(year: $0 / 12, month: $0 % 12 + 1) }
    }

    var summaryFilter: Weft_Accounting_V1_SummaryFilter {
        .with {
            $0.sites = sites
            $0.vos = vos
            $0.startMonth = .with { $0.year = Int32(from.year); $0.month = Int32(from.month) }
            $0.endMonth = .with { $0.year = Int32(to.year); $0.month = Int32(to.month) }
        }
    }

    /// The filter form (GET, no scripts).
    var form: String {
        "<form method=\"get\" action=\"/dashboard\">"
            + "<label>From <input name=\"from\" value=\"\(Self.format(year: from.year, month: from.month))\" size=\"7\"></label>"
            + "<label>To <input name=\"to\" value=\"\(Self.format(year: to.year, month: to.month))\" size=\"7\"></label>"
            + "<label>Site <input name=\"site\" value=\"\(HTML.escape(sites.joined(separator: ",")))\"></label>"
            + "<label>VO <input name=\"vo\" value=\"\(HTML.escape(vos.joined(separator: ",")))\"></label>"
            + "<button type=\"submit\">Apply</button></form>"
    }
}
