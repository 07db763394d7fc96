// The `Gen` module holds the Swift generated from every `.proto` under the package's `proto/` directory
// by the `codegen` build plugin (messages, enums, service descriptors, server protocols and clients).
// Nothing else belongs here: generated code is never committed or edited by hand.
