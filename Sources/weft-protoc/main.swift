print("weft-protoc")
