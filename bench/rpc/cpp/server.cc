// The gRPC C++ peer of the RPC benchmark (bench/run-rpc.sh): grpc.testing.TestService UnaryCall and
// StreamingOutputCall, enough of the interop semantics for the benchmark (payload of `size` zero
// bytes, type COMPRESSABLE; no compression, status echo or metadata echo).
//
//   server --port P [--mode callback|sync]
//
// callback (default): gRPC's callback API (reactors on gRPC's own threads, the upstream
// recommendation). sync: the synchronous API with a thread pool (1 completion queue, 1-2 pollers,
// matching the 2-core machine).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "grpc/testing/test.grpc.pb.h"

using grpc::CallbackServerContext;
using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;
using grpc::testing::SimpleRequest;
using grpc::testing::SimpleResponse;
using grpc::testing::StreamingOutputCallRequest;
using grpc::testing::StreamingOutputCallResponse;
using grpc::testing::TestService;

static bool FillPayload(grpc::testing::Payload* p, int size) {
  if (size < 0) return false;
  p->set_type(grpc::testing::COMPRESSABLE);
  p->mutable_body()->assign(static_cast<size_t>(size), '\0');
  return true;
}

class CallbackService final : public TestService::CallbackService {
  grpc::ServerUnaryReactor* UnaryCall(CallbackServerContext* ctx, const SimpleRequest* req,
                                      SimpleResponse* resp) override {
    auto* r = ctx->DefaultReactor();
    if (!FillPayload(resp->mutable_payload(), req->response_size()))
      r->Finish(Status(StatusCode::INVALID_ARGUMENT, "negative size"));
    else
      r->Finish(Status::OK);
    return r;
  }

  class Writer final : public grpc::ServerWriteReactor<StreamingOutputCallResponse> {
   public:
    explicit Writer(const StreamingOutputCallRequest* req) : req_(req) { Next(); }
    void OnWriteDone(bool ok) override {
      if (!ok) { Finish(Status(StatusCode::CANCELLED, "write failed")); return; }
      Next();
    }
    void OnDone() override { delete this; }

   private:
    void Next() {
      if (i_ >= req_->response_parameters_size()) { Finish(Status::OK); return; }
      if (!FillPayload(resp_.mutable_payload(), req_->response_parameters(i_++).size())) {
        Finish(Status(StatusCode::INVALID_ARGUMENT, "negative size"));
        return;
      }
      StartWrite(&resp_);
    }
    const StreamingOutputCallRequest* req_;
    StreamingOutputCallResponse resp_;
    int i_ = 0;
  };

  grpc::ServerWriteReactor<StreamingOutputCallResponse>* StreamingOutputCall(
      CallbackServerContext*, const StreamingOutputCallRequest* req) override {
    return new Writer(req);
  }
};

class SyncService final : public TestService::Service {
  Status UnaryCall(ServerContext*, const SimpleRequest* req, SimpleResponse* resp) override {
    if (!FillPayload(resp->mutable_payload(), req->response_size()))
      return Status(StatusCode::INVALID_ARGUMENT, "negative size");
    return Status::OK;
  }
  Status StreamingOutputCall(ServerContext*, const StreamingOutputCallRequest* req,
                             grpc::ServerWriter<StreamingOutputCallResponse>* w) override {
    StreamingOutputCallResponse resp;
    for (const auto& p : req->response_parameters()) {
      if (!FillPayload(resp.mutable_payload(), p.size()))
        return Status(StatusCode::INVALID_ARGUMENT, "negative size");
      if (!w->Write(resp)) return Status(StatusCode::CANCELLED, "write failed");
    }
    return Status::OK;
  }
};

int main(int argc, char** argv) {
  int port = 0;
  std::string mode = "callback";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--mode")) mode = argv[i + 1];
  }
  if (port <= 0 || (mode != "callback" && mode != "sync")) {
    fprintf(stderr, "usage: %s --port P [--mode callback|sync]\n", argv[0]);
    return 2;
  }
  CallbackService cb;
  SyncService sync;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials());
  if (mode == "callback") {
    builder.RegisterService(&cb);
  } else {
    builder.RegisterService(&sync);
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, 1);
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) { fprintf(stderr, "cpp-server: cannot listen on port %d\n", port); return 1; }
  fprintf(stderr, "cpp-server: listening on 127.0.0.1:%d (%s)\n", port, mode.c_str());
  server->Wait();
  return 0;
}
