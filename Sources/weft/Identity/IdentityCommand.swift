import ArgumentParser
import Foundation
import Gen
import WeftPodKit
import WeftProtobuf
import WeftRPC

/// `weft identity`: link federated identities to site accounts, look mappings up, manage API keys.
struct IdentityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Link your federated identity to site accounts; look mappings up; manage site API keys.",
        subcommands: [Sites.self, Issuers.self, Link.self, Unlink.self, Links.self, Lookup.self, Keys.self])
}

/// Runs one call of the identity service and maps failures to the CLI's exit status.
private func withIdentity<R>(_ client: ClientOptions, _ what: String, _ body: (Weft_Identity_V1_IdentityService.Client, CallOptions) async throws -> R) async throws -> R {
    let (rpc, transport) = try client.client()
    defer { Task { await transport.close() } }
    do { return try await body(Weft_Identity_V1_IdentityService.Client(rpc), client.callOptions) } catch { throw failure(error, what) }
}


private func time(_ t: Google_Protobuf_Timestamp, set: Bool) -> String { set ? t.rfc3339Nano.prefix(19) + "Z" : "-" }

extension IdentityCommand {
    struct Sites: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the sites accounts can be linked at.")
        @OptionGroup var client: ClientOptions
        @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

        func run() async throws {
            let r = try await withIdentity(client, "sites") { try await $0.listSites(.init(), options: $1) }
            if output != .table { return emit(try PodOutput.render(r, as: output)) }
            emit(PodOutput.table(r.sites.map { [$0.site, $0.displayName, $0.siteIssuer, $0.loginUrl] }, header: ["SITE", "NAME", "SITE ISSUER", "LOGIN"]))
        }
    }

    struct Issuers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the issuers whose identities can be linked.")
        @Option(help: "Only issuers a site accepts.") var site = ""
        @OptionGroup var client: ClientOptions
        @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

        func run() async throws {
            let r = try await withIdentity(client, "issuers") { try await $0.listSupportedIssuers(.with { $0.site = site }, options: $1) }
            if output != .table { return emit(try PodOutput.render(r, as: output)) }
            emit(PodOutput.table(r.issuers.map { [$0.issuer, $0.displayName, $0.sites.joined(separator: ",")] }, header: ["ISSUER", "NAME", "SITES"]))
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Link your identity (the token of --token-file / WEFT_TOKEN) to your account at a site.",
            discussion: "Prove the site account with --site-token-file (a token of the site's own issuer). Site administrators link someone else with --username, --issuer and --subject.")
        @Option(help: "Site.") var site: String
        @Option(name: .customLong("site-token-file"), help: "File with a token of the site's own identity provider.") var siteTokenFile: String?
        @Option(help: "Administrators: the local username to link.") var username: String?
        @Option(help: "Administrators: issuer of the identity to link.") var issuer: String?
        @Option(help: "Administrators: subject of the identity to link.") var subject: String?
        @OptionGroup var client: ClientOptions
        @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

        func validate() throws {
            if (siteTokenFile == nil) == (username == nil) { throw ValidationError("give either --site-token-file or --username") }
            if username != nil, issuer == nil || subject == nil { throw ValidationError("--username needs --issuer and --subject") }
        }

        func run() async throws {
            var request = Weft_Identity_V1_LinkIdentityRequest.with { $0.site = site }
            if let siteTokenFile {
                guard let data = FileManager.default.contents(atPath: siteTokenFile) else { throw OperationFailure("cannot read the site token file \(siteTokenFile)") }
                request.proof = .siteToken(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            } else if let username, let issuer, let subject {
                request.proof = .adminUsername(username)
                request.identity = .with { $0.issuer = issuer; $0.subject = subject }
            }
            let r = try await withIdentity(client, "link") { try await $0.linkIdentity(request, options: $1) }
            if output != .table { return emit(try PodOutput.render(r, as: output)) }
            let l = r.link
            emit("\(l.identity.subject)@\(l.identity.issuer) \(r.created ? "linked to" : "already linked to") \(l.localAccount.username) at \(l.localAccount.site)\n")
        }
    }

    struct Unlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove your link at a site (administrators: anyone's, with --issuer and --subject).")
        @Option(help: "Site.") var site: String
        @Option(help: "Administrators: issuer of the identity to unlink.") var issuer: String?
        @Option(help: "Administrators: subject of the identity to unlink.") var subject: String?
        @OptionGroup var client: ClientOptions

        func run() async throws {
            var request = Weft_Identity_V1_UnlinkIdentityRequest.with { $0.site = site }
            if let issuer, let subject { request.identity = .with { $0.issuer = issuer; $0.subject = subject } }
            let r = try await withIdentity(client, "unlink") { try await $0.unlinkIdentity(request, options: $1) }
            emit("\(r.link.identity.subject)@\(r.link.identity.issuer) unlinked from \(r.link.localAccount.username) at \(r.link.localAccount.site)\n")
        }
    }

    struct Links: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List your links.")
        @Option(help: "Only links at this site.") var site = ""
        @OptionGroup var client: ClientOptions
        @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

        func run() async throws {
            var links: [Weft_Identity_V1_IdentityLink] = []
            var token = ""
            repeat {
                let r = try await withIdentity(client, "links") { try await $0.listMyLinks(.with { $0.site = site; $0.pageToken = token }, options: $1) }
                links += r.links
                token = r.nextPageToken
            } while !token.isEmpty
            if output != .table { return emit(try PodOutput.render(Weft_Identity_V1_ListMyLinksResponse.with { $0.links = links }, as: output)) }
            emit(PodOutput.table(links.map { [$0.localAccount.site, $0.localAccount.username, "\($0.identity.subject)@\($0.identity.issuer)", time($0.linkedAt, set: $0.hasLinkedAt)] },
                                 header: ["SITE", "ACCOUNT", "IDENTITY", "LINKED"]))
        }
    }

    struct Lookup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Look up the local account of an identity at a site, with a site API key.",
            discussion: "The key comes from --api-key-file or WEFT_API_KEY. The issuer may be its URL or the URL's SHA-1 (as ALISE accepts).")
        @Option(help: "Site.") var site: String
        @Option(help: "Issuer URL or its SHA-1 in hex.") var issuer: String
        @Option(help: "Subject.") var subject: String
        @Option(name: .customLong("api-key-file"), help: "File with the site's API key (default: $WEFT_API_KEY).") var apiKeyFile: String?
        @OptionGroup var client: ClientOptions
        @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

        func run() async throws {
            let key: String
            if let apiKeyFile {
                guard let data = FileManager.default.contents(atPath: apiKeyFile) else { throw OperationFailure("cannot read the API key file \(apiKeyFile)") }
                key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                key = ProcessInfo.processInfo.environment["WEFT_API_KEY"] ?? ""
            }
            let request = Weft_Identity_V1_LookupMappingRequest.with {
                $0.site = site
                $0.identity = .with { $0.issuer = issuer; $0.subject = subject }
                $0.apiKey = key
            }
            let r = try await withIdentity(client, "lookup") { try await $0.lookupMapping(request, options: $1) }
            if output != .table { return emit(try PodOutput.render(r, as: output)) }
            let a = r.localAccount
            emit(PodOutput.table([[a.site, a.username, a.hasUid ? String(a.uid) : "-", a.hasGid ? String(a.gid) : "-", r.linkedIdentities.map { "\($0.subject)@\($0.issuer)" }.joined(separator: ",")]],
                                 header: ["SITE", "ACCOUNT", "UID", "GID", "LINKED IDENTITIES"]))
        }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage a site's API keys (site administrators).", subcommands: [Create.self, List.self, Revoke.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed once.")
            @Option(help: "Site the key may look mappings up at.") var site: String
            @Option(help: "Who uses the key, e.g. \"storage edge at vega\".") var name = ""
            @Option(help: "Validity: e.g. 90d, 12h, 3600s (server default when omitted).") var ttl: String?
            @OptionGroup var client: ClientOptions
            @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

            func run() async throws {
                var request = Weft_Identity_V1_CreateApiKeyRequest.with { $0.site = site; $0.displayName = name }
                if let ttl {
                    guard let seconds = Self.seconds(ttl) else { throw ValidationError("--ttl \(ttl): use a number with d, h, m or s") }
                    request.ttl = .with { $0.seconds = seconds }
                }
                let r = try await withIdentity(client, "create key") { try await $0.createApiKey(request, options: $1) }
                if output != .table { return emit(try PodOutput.render(r, as: output)) }
                emit("\(r.secret)\n")
                FileHandle.standardError.write(Data("key \(r.key.keyId) for \(r.key.site), expires \(time(r.key.expiresAt, set: r.key.hasExpiresAt)); the secret above is not shown again\n".utf8))
            }

            static func seconds(_ s: String) -> Int64? {
                guard let unit = s.last, let n = Int64(s.dropLast()), n > 0 else { return Int64(s) }
                switch unit {
                case "d": return n * 86400
                case "h": return n * 3600
                case "m": return n * 60
                case "s": return n
                default: return nil
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List a site's keys (without secrets).")
            @Option(help: "Site.") var site: String
            @Flag(help: "Include expired and revoked keys.") var all = false
            @OptionGroup var client: ClientOptions
            @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

            func run() async throws {
                var keys: [Weft_Identity_V1_ApiKey] = []
                var token = ""
                repeat {
                    let r = try await withIdentity(client, "list keys") { try await $0.listApiKeys(.with { $0.site = site; $0.includeInactive = all; $0.pageToken = token }, options: $1) }
                    keys += r.keys
                    token = r.nextPageToken
                } while !token.isEmpty
                if output != .table { return emit(try PodOutput.render(Weft_Identity_V1_ListApiKeysResponse.with { $0.keys = keys }, as: output)) }
                emit(PodOutput.table(keys.map {
                    [$0.keyId, $0.site, $0.displayName, time($0.expiresAt, set: $0.hasExpiresAt), $0.hasRevokedAt ? "revoked" : ($0.expiresAt.date < Date() ? "expired" : "active"), time($0.lastUsedAt, set: $0.hasLastUsedAt)]
                }, header: ["KEY", "SITE", "NAME", "EXPIRES", "STATE", "LAST USED"]))
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a key at once.")
            @Argument(help: "Key id (ak_…).") var keyID: String
            @OptionGroup var client: ClientOptions

            func run() async throws {
                let r = try await withIdentity(client, "revoke key") { try await $0.revokeApiKey(.with { $0.keyId = keyID }, options: $1) }
                emit("key \(r.key.keyId) of \(r.key.site) revoked\n")
            }
        }
    }
}
