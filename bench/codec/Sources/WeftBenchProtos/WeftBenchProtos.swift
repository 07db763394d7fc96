// Swift generated from bench.proto (a link to Tests/TestProtos/weft_testing/bench.proto) by Weft's codegen plugin.
