// Compile errors: exact `file:line:column: message` text (checked against protoc 3.21's output).

import Foundation
import Testing
import ProtoCompiler

@Suite("Compile errors")
struct ErrorTests {
    /// Compiles `source` as `name` (plus `extra` files) and returns the error text.
    private func errorText(_ source: String, name: String = "bad.proto", extra: [String: String] = [:]) throws -> String? {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weft-errors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (file, text) in extra.merging([name: source], uniquingKeysWith: { a, _ in a }) {
            try text.write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        do {
            _ = try ProtoCompilerSession(importPaths: [dir.path]).compile([name])
            return nil
        } catch {
            return error.description
        }
    }

    @Test("Syntax errors", arguments: [
        ("syntax = \"proto3\";\nmessage A {\n  int32 a = 1\n}\n", "bad.proto:4:1: Expected \";\"."),
        ("syntax = \"proto4\";\n", "bad.proto:1:10: Unrecognized syntax identifier \"proto4\".  This parser only recognizes \"proto2\" and \"proto3\"."),
        ("syntax = \"proto3\";\nmessage A { string s = \"x\"; }\n", "bad.proto:2:24: Expected field number."),
        ("syntax = \"proto3\";\nmessage A { string s = 1 \n", "bad.proto:3:1: Expected \";\"."),
        ("syntax = \"proto3\";\nmessage A { int32 a = 1; }\n}\n", "bad.proto:3:1: Expected top-level statement (e.g. \"message\")."),
        ("syntax = \"proto3\";\nmessage A { string s = 1 /* open\n", "bad.proto:3:1: End-of-file inside block comment."),
        ("syntax = \"proto2\";\nmessage A { optional string s = 1 [default=\"\\q\"]; }\n", "bad.proto:2:46: Invalid escape sequence in string literal."),
        ("syntax = \"proto3\";\nmessage A { int32 a = 99999999999; }\n", "bad.proto:2:23: Integer out of range."),
        ("syntax = \"proto2\";\nmessage A { int32 a = 1; }\n", "bad.proto:2:13: Expected \"required\", \"optional\", or \"repeated\"."),
        ("syntax = \"proto3\";\nmessage A { string s = 1 [json_name = \"x\", json_name = \"y\"]; }\n", "bad.proto:2:44: Already set option \"json_name\"."),
        ("syntax = \"proto2\";\nmessage A { optional group G = 1 { } }\n", "bad.proto:2:22: Groups are not supported by weft-protoc; use a nested message instead."),
    ])
    func syntaxErrors(_ source: String, _ expected: String) throws {
        #expect(try errorText(source) == expected)
    }

    @Test("Unknown and unreachable types", arguments: [
        ("syntax = \"proto3\";\nmessage A {\n  Foo a = 1;\n}\n", "bad.proto:3:3: \"Foo\" is not defined."),
        ("syntax = \"proto3\";\nmessage A { string s = 1; }\nservice S { rpc M(A) returns (B); }\n", "bad.proto:3:31: \"B\" is not defined."),
        ("syntax = \"proto3\";\nmessage A { B.C x = 1; message B {} }\n", "bad.proto:2:13: \"B.C\" is resolved to \"A.B.C\", which is not defined. The innermost scope is searched first in name resolution. Consider using a leading '.'(i.e., \".B.C\") to start from the outermost scope."),
    ])
    func typeErrors(_ source: String, _ expected: String) throws {
        #expect(try errorText(source) == expected)
    }

    @Test("A type from a file that is not imported directly or publicly")
    func notImported() throws {
        let text = try errorText("syntax = \"proto3\";\nimport \"b.proto\";\nmessage A { C c = 1; }\n", extra: [
            "b.proto": "syntax = \"proto3\";\nimport \"c.proto\";\n",
            "c.proto": "syntax = \"proto3\";\nmessage C {}\n",
        ])
        #expect(text == "bad.proto:3:13: \"C\" seems to be defined in \"c.proto\", which is not imported by \"bad.proto\".  To use it here, please add the necessary import.")
    }

    @Test("import public makes types visible transitively")
    func importPublic() throws {
        let text = try errorText("syntax = \"proto3\";\nimport \"b.proto\";\nmessage A { C c = 1; }\n", extra: [
            "b.proto": "syntax = \"proto3\";\nimport public \"c.proto\";\n",
            "c.proto": "syntax = \"proto3\";\nmessage C {}\n",
        ])
        #expect(text == nil)
    }

    @Test("Duplicates and numbering", arguments: [
        ("syntax = \"proto3\";\nmessage A {\n  int32 a = 1;\n  string b = 1;\n}\n", "bad.proto:4:14: Field number 1 has already been used in \"A\" by field \"a\"."),
        ("syntax = \"proto3\";\nmessage A { int32 a = 1; }\nmessage A { }\n", "bad.proto:3:9: \"A\" is already defined."),
        ("syntax = \"proto3\";\nenum E { A = 1; }\n", "bad.proto:2:14: The first enum value must be zero in proto3."),
        ("syntax = \"proto3\";\nenum E { A = 0; B = 0; }\n", "bad.proto:2:21: \"B\" uses the same enum value as \"A\". If this is intended, set 'option allow_alias = true;' to the enum definition."),
        ("syntax = \"proto3\";\nmessage A { int32 a = 0; }\n", "bad.proto:2:23: Field numbers must be positive integers."),
        ("syntax = \"proto3\";\nmessage A { reserved 2; int32 a = 2; }\n", "bad.proto: Field \"a\" uses reserved number 2."),
        ("syntax = \"proto3\";\nmessage A { int32 a = 1; int32 A = 2; }\n", "bad.proto:2:32: The JSON camel-case name of field \"A\" conflicts with field \"a\". This is not allowed in proto3."),
        ("syntax = \"proto3\";\nmessage A { int32 a = 1; }\nenum E { A = 0; }\n", "bad.proto:3:10: \"A\" is already defined."),
        ("syntax = \"proto3\";\nmessage A { map<float, int32> m = 1; }\n", "bad.proto:2:13: Key in map fields cannot be float/double, bytes or message types."),
    ])
    func duplicates(_ source: String, _ expected: String) throws {
        #expect(try errorText(source) == expected)
    }

    @Test("Options", arguments: [
        ("syntax = \"proto3\";\nmessage A { int32 a = 1 [deprecated = 1]; }\n", "bad.proto:2:39: Value must be identifier for boolean option \"google.protobuf.FieldOptions.deprecated\"."),
        ("syntax = \"proto3\";\noption optimize_for = FAST;\n", "bad.proto:2:23: Enum type \"google.protobuf.FileOptions.OptimizeMode\" has no value named \"FAST\" for option \"google.protobuf.FileOptions.optimize_for\"."),
        ("syntax = \"proto3\";\nmessage A { int32 x = 1 [foo = true]; }\n", "bad.proto:2:26: Option \"foo\" unknown. Ensure that your proto definition file imports the proto which defines the option."),
        ("syntax = \"proto3\";\nmessage A { int32 a = 1 [(my) = 1]; }\n", "bad.proto:2:26: Option \"(my)\": custom options are not supported by weft-protoc."),
        ("syntax = \"proto3\";\nmessage A { string s = 1 [default = \"x\"]; }\n", "bad.proto:2:37: Explicit default values are not allowed in proto3."),
        ("syntax = \"proto3\";\nmessage A {\n\tstring s = 1 [packed = true];\n}\n", "bad.proto:3:9: [packed = true] can only be specified for repeated primitive fields."),
    ])
    func options(_ source: String, _ expected: String) throws {
        #expect(try errorText(source) == expected)
    }

    @Test("Imports that are missing or cyclic")
    func imports() throws {
        #expect(try errorText("syntax = \"proto3\";\nimport \"nope.proto\";\n") == "bad.proto:2:1: Import \"nope.proto\" was not found or had errors.")
        #expect(try errorText("syntax = \"proto3\";\nimport \"bad.proto\";\n") == "bad.proto:2:1: File recursively imports itself: bad.proto -> bad.proto")
    }

    @Test("Missing input file")
    func missingFile() throws {
        let session = ProtoCompilerSession(importPaths: ["/nonexistent-weft-dir"])
        #expect(throws: ProtoCompileError(file: "x.proto", line: 0, column: 0, message: "File not found.")) {
            try session.compile(["x.proto"])
        }
    }
}
