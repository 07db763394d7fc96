// Swift generated from the .proto files in this directory by the codegen plugin (test fixtures).
