// Hand-written .proto files that exercise what the system corpora do not: proto2 defaults of
// every type, escapes, extensions, groups of comments, tabs, maps, proto3 optional, reserved
// ranges, every standard option kind and all four streaming kinds.

/// Fixture files by name (relative to the fixture root).
enum Fixtures {
    /// name → contents
    static let files: [String: String] = [
        "sub/dep.proto": #"""
syntax = "proto2";
package dep.inner;
import public "sub/pub.proto";
message Ext { extensions 100 to 200, 300; extensions 1000 to max; }
enum Color { RED = 0; GREEN = 1; }
"""#,
        "sub/pub.proto": #"""
// detached at top

// leading for syntax
syntax = "proto2";  // trailing syntax
package dep.inner;
message FromPublic { optional int32 x = 1; }
"""#,
        "p2.proto": #"""
/* block detached */

/** doc
 * block leading
 */
syntax = "proto2";

package torture.p2;

import "sub/dep.proto";
import weak "google/protobuf/empty.proto";
option java_package = "com.x" "y\x41\101\n";
option optimize_for = CODE_SIZE;
option cc_enable_arenas = false;
option deprecated=true;

// Message comment
message M {  // trailing brace
	// tab indented
	required int32 a = 1 [default = -12];
  optional int64 b = 2 [default = 0x7fffffffffffffff];
  optional uint32 c = 3 [default = 017];
  optional float f = 4 [default = 1.5e3];
  optional float f2 = 5 [default = -inf];
  optional double d = 6 [default = nan];
  optional double d2 = 7 [default = 0.1];
  optional float f3 = 23 [default = 0.1];
  optional bool bo = 8 [default = true];
  optional string s = 9 [default = "h\"i\t\u00e9"];
  optional bytes by = 10 [default = "\000\001\xff abc\\"];
  optional dep.inner.Color col = 11 [default = GREEN];
  optional .dep.inner.FromPublic fp = 12;
  repeated int32 packed_ints = 13 [packed = true, deprecated = true];
  optional string jn = 14 [json_name = "customJson"];
  optional M self = 15;
  optional Nested.Deeper deep = 16;
  map<string, Nested> by_name = 17;
  map<int32, dep.inner.Color> colors = 18;
  oneof choice {
    // in oneof
    string o1 = 19;
    Nested o2 = 20 [lazy = true];
  }
  extensions 1000 to 1999;
  reserved 50, 60 to 70, 80 to 999;
  reserved "foo", "bar";
  optional fixed64 fx = 21 [ctype = CORD, jstype = JS_STRING];
  optional sint64 sx = 22 [default = -9223372036854775808];
  message Nested {
    option deprecated = true;
    enum Inner { option allow_alias = true; A = 0; B = 0 [deprecated = true]; C = -5; }
    message Deeper { optional Inner i = 1; }
    extend M { optional int32 nested_ext = 1001; }
  }
  enum E2 { X = 1; reserved 5, 10 to 20, 100 to max; reserved "Q"; }
}

extend dep.inner.Ext {
  optional string ext_s = 100;  // trailing ext
  repeated M ext_m = 101;
}
extend M { optional int32 top_ext = 1002; }

service Svc {
  option deprecated = true;
  rpc U (M) returns (M);
  rpc SS (M) returns (stream M) { option idempotency_level = NO_SIDE_EFFECTS; }
  rpc CS (stream M) returns (M) {}
  rpc B (stream .torture.p2.M) returns (stream M) { option deprecated = true; };
}
// trailing file comment
"""#,
        "p3.proto": #"""
syntax = "proto3";
package torture.p3;
import "p2.proto";
import "google/protobuf/descriptor.proto";

message A {
  optional int32 x = 1;
  optional A a = 2;
  oneof real { int32 r = 4; }
  repeated int32 ids = 5 [packed = false];
  map<string, string> m_ap_field = 6;
  torture.p2.M m = 7;
  optional string foo_bar_baz = 8;
  message map { int32 q = 1; }
  map m2 = 9;
  E e = 10;
  enum E { ZERO = 0; ONE = 1; }
  reserved 100;
}
enum Top { TOP_ZERO = 0; }
extend google.protobuf.FieldOptions { string my_opt = 50000; }
service S { rpc M(A) returns (A); }
"""#,
        "comments.proto": #"""
syntax = "proto3";

// detached 1

// detached 2
// still 2

/* leading A */
// leading A line comment (flushes block)
message A { // trailing A
  // leading f
  int32 f = 1; /* trailing f block */
  int32 g = 2; /* same line */ int32 h = 3;
  int32 i = 4; // trailing i
  // next-line-after-trailing

  // leading j
  int32 j = 5;
  /* before brace */
}
/* a */ /* b */
message B {}  /* trailing B */ // and more

message C {
  int32 x = 1;

  // dangling at end
}
enum En {
  // v
  V = 0;  // tv
}
// end of file comment
"""#,
        "one_line.proto": #"""
/* first */ syntax = "proto3"; message Z { int32 a = 1; } // tail
"""#,
    ]
}
