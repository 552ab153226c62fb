// The N-API face of the native data plane (node-addon-api): the Engine as a JS
// class, fd duplication for the hand-over, and the scanner's trace for the
// differential test against frame-scanner.ts.
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <napi.h>

#include "engine.h"
#include "scanner-trace.h"

namespace {

constexpr int kEventWidth = 10;

class NativeEngine : public Napi::ObjectWrap<NativeEngine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeEngine",
                       {
                           InstanceMethod("adopt", &NativeEngine::Adopt),
                           InstanceMethod("injectAndSeal", &NativeEngine::InjectAndSeal),
                           InstanceMethod("injectBeforeSourceClose", &NativeEngine::InjectBeforeSourceClose),
                           InstanceMethod("relaxToFrameBoundary", &NativeEngine::RelaxToFrameBoundary),
                           InstanceMethod("sealAtFrameBoundary", &NativeEngine::SealAtFrameBoundary),
                           InstanceMethod("writeAtFrameBoundary", &NativeEngine::WriteAtFrameBoundary),
                           InstanceMethod("writeAndSeal", &NativeEngine::WriteAndSeal),
                           InstanceMethod("directionState", &NativeEngine::DirectionState),
                           InstanceMethod("end", &NativeEngine::End),
                           InstanceMethod("destroy", &NativeEngine::Destroy),
                           InstanceMethod("sideState", &NativeEngine::SideState),
                           InstanceMethod("takeActive", &NativeEngine::TakeActive),
                           InstanceMethod("counters", &NativeEngine::Counters),
                           InstanceMethod("tunnelCount", &NativeEngine::TunnelCount),
                           InstanceMethod("queuedBytes", &NativeEngine::QueuedBytes),
                           InstanceMethod("close", &NativeEngine::Close),
                       });
  }

  explicit NativeEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeEngine>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) {
      Napi::TypeError::New(env, "NativeEngine(onEvents): a function is required").ThrowAsJavaScriptException();
      return;
    }
    events_ = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "ws-sidecar-native-events", 0, 1);
    // Events alone never keep the process alive: its sockets and timers do.
    events_.Unref(env);
    engine_ = std::make_unique<wss::Engine>([this] { events_.NonBlockingCall([this](Napi::Env env, Napi::Function fn) { Deliver(env, fn); }); });
    if (!engine_->Start()) {
      Napi::Error::New(env, "the native data plane could not start its epoll thread").ThrowAsJavaScriptException();
      return;
    }
    env.AddCleanupHook([this] { Shutdown(); });
  }

  ~NativeEngine() override { Shutdown(); }

 private:
  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    if (engine_) engine_->Stop();
    events_.Release();
  }

  void Deliver(Napi::Env env, Napi::Function fn) {
    if (closed_) return;
    std::vector<wss::Event> events = engine_->TakeEvents();
    if (events.empty()) return;
    Napi::Float64Array flat = Napi::Float64Array::New(env, events.size() * kEventWidth);
    for (size_t i = 0; i < events.size(); i++) {
      const wss::Event& e = events[i];
      double* row = flat.Data() + i * kEventWidth;
      row[0] = static_cast<double>(e.kind);
      row[1] = e.tunnel;
      row[2] = e.a;
      row[3] = e.b;
      row[4] = e.c;
      row[5] = e.detail;
      for (int k = 0; k < 4; k++) row[6 + k] = e.counters[k];
    }
    fn.Call({flat});
  }

  static uint32_t Id(const Napi::CallbackInfo& info) { return info[0].As<Napi::Number>().Uint32Value(); }
  static int Index(const Napi::CallbackInfo& info) { return info[1].As<Napi::Number>().Int32Value() == 0 ? 0 : 1; }
  static Napi::Buffer<uint8_t> Bytes(const Napi::CallbackInfo& info, size_t at) { return info[at].As<Napi::Buffer<uint8_t>>(); }

  Napi::Value Adopt(const Napi::CallbackInfo& info) {
    const int clientFd = info[0].As<Napi::Number>().Int32Value();
    const int upstreamFd = info[1].As<Napi::Number>().Int32Value();
    Napi::Buffer<uint8_t> clientHead = Bytes(info, 2);
    Napi::Buffer<uint8_t> upstreamHead = Bytes(info, 3);
    const bool consumePongs = info[4].ToBoolean().Value();
    const uint32_t id = engine_->Adopt(clientFd, upstreamFd, clientHead.Data(), clientHead.Length(), upstreamHead.Data(),
                                       upstreamHead.Length(), consumePongs);
    return Napi::Number::New(info.Env(), id);
  }

  Napi::Value InjectAndSeal(const Napi::CallbackInfo& info) {
    Napi::Buffer<uint8_t> frame = Bytes(info, 2);
    const auto boundary = static_cast<wss::Boundary>(info[3].As<Napi::Number>().Int32Value());
    return Napi::Boolean::New(info.Env(), engine_->InjectAndSeal(Id(info), Index(info), frame.Data(), frame.Length(), boundary));
  }

  Napi::Value InjectBeforeSourceClose(const Napi::CallbackInfo& info) {
    Napi::Buffer<uint8_t> frame = Bytes(info, 2);
    engine_->InjectBeforeSourceClose(Id(info), Index(info), frame.Data(), frame.Length());
    return info.Env().Undefined();
  }

  Napi::Value RelaxToFrameBoundary(const Napi::CallbackInfo& info) {
    engine_->RelaxToFrameBoundary(Id(info), Index(info));
    return info.Env().Undefined();
  }

  Napi::Value SealAtFrameBoundary(const Napi::CallbackInfo& info) {
    Napi::Buffer<uint8_t> frame = Bytes(info, 2);
    return Napi::Boolean::New(info.Env(), engine_->SealAtFrameBoundary(Id(info), Index(info), frame.Data(), frame.Length()));
  }

  Napi::Value WriteAtFrameBoundary(const Napi::CallbackInfo& info) {
    Napi::Buffer<uint8_t> frame = Bytes(info, 2);
    return Napi::Boolean::New(info.Env(), engine_->WriteAtFrameBoundary(Id(info), Index(info), frame.Data(), frame.Length()));
  }

  Napi::Value WriteAndSeal(const Napi::CallbackInfo& info) {
    Napi::Buffer<uint8_t> frame = Bytes(info, 2);
    engine_->WriteAndSeal(Id(info), Index(info), frame.Data(), frame.Length());
    return info.Env().Undefined();
  }

  Napi::Value DirectionState(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), engine_->DirectionState(Id(info), Index(info)));
  }

  Napi::Value End(const Napi::CallbackInfo& info) {
    engine_->End(Id(info), Index(info));
    return info.Env().Undefined();
  }

  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    engine_->Destroy(Id(info), Index(info), info[2].ToBoolean().Value());
    return info.Env().Undefined();
  }

  Napi::Value SideState(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), engine_->SideState(Id(info), Index(info)));
  }

  Napi::Value TakeActive(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), engine_->TakeActive(Id(info), info[1].ToBoolean().Value()));
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    wss::Counters counters;
    if (!engine_->ReadCounters(Id(info), &counters)) return info.Env().Undefined();
    Napi::Float64Array out = Napi::Float64Array::New(info.Env(), 4);
    out[0] = static_cast<double>(counters.messagesToApp);
    out[1] = static_cast<double>(counters.bytesToApp);
    out[2] = static_cast<double>(counters.messagesToClient);
    out[3] = static_cast<double>(counters.bytesToClient);
    return out;
  }

  Napi::Value TunnelCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(engine_->TunnelCount())); }
  Napi::Value QueuedBytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(engine_->QueuedBytes())); }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::ThreadSafeFunction events_;
  std::unique_ptr<wss::Engine> engine_;
  bool closed_ = false;
};

/** dup(fd) with close-on-exec: the engine's own reference to a socket whose JS handle is about to close. */
Napi::Value DupFd(const Napi::CallbackInfo& info) {
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    Napi::Error::New(info.Env(), "dup of a tunnel socket failed").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), copy);
}

/** scanTrace(stream, chunkEnds, masked, stopBeforeControl, wantBoundary): see scanner-trace.h. */
Napi::Value ScanTrace(const Napi::CallbackInfo& info) {
  Napi::Buffer<uint8_t> stream = info[0].As<Napi::Buffer<uint8_t>>();
  Napi::Uint32Array ends = info[1].As<Napi::Uint32Array>();
  wss::TraceOptions options;
  options.masked = info[2].ToBoolean().Value();
  options.stopBeforeControl = info[3].ToBoolean().Value();
  options.wantBoundary = static_cast<wss::Boundary>(info[4].As<Napi::Number>().Int32Value());
  std::vector<double> trace = wss::ScanTraceOf(stream.Data(), stream.Length(), ends.Data(), ends.ElementLength(), options);
  Napi::Float64Array out = Napi::Float64Array::New(info.Env(), trace.size());
  std::copy(trace.begin(), trace.end(), out.Data());
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeEngine", NativeEngine::Define(env));
  exports.Set("dupFd", Napi::Function::New(env, DupFd));
  exports.Set("scanTrace", Napi::Function::New(env, ScanTrace));
  exports.Set("eventWidth", Napi::Number::New(env, kEventWidth));
  exports.Set("readBytes", Napi::Number::New(env, static_cast<double>(wss::Engine::kReadBytes)));
  return exports;
}

}  // namespace

NODE_API_MODULE(ws_sidecar_native, Init)
