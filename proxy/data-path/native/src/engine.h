// The native data plane: one epoll thread pumping the bytes of many tunnels
// after their handshake. It mirrors proxy/data-path/pump.ts (the reference) per
// direction and leaves every decision to JavaScript: it reports what it sees
// (close frames, protocol errors, ends, closes) and obeys commands (inject,
// seal, end, destroy). Every method takes the engine's one mutex, so a command
// sees a tunnel between two chunks, as the JS pump would.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "frame-scanner.h"

namespace wss {

/** Which socket of a tunnel: the client's or the app's. */
enum SideIndex : int { kClient = 0, kUpstream = 1 };
/** Which direction: client → app or app → client (its source is the side of the same index). */
enum DirectionIndex : int { kToApp = 0, kToClient = 1 };

enum class EventKind : uint8_t {
  CloseFrame = 1,     // a: direction, b: code
  ProtocolError = 2,  // a: direction, b: FrameError, c: at frame start, detail
  Ended = 3,          // a: side (EOF or a socket error, like Node's 'end' / 'error')
  Closed = 4,         // a: side (its fd is closed, like Node's 'close')
  SidecarPong = 5,    // the client answered the sidecar's ping
  Finished = 6,       // both sides closed; final counters; the id is free after this
};

struct Event {
  EventKind kind;
  uint32_t tunnel;
  int32_t a = 0;
  int32_t b = 0;
  int32_t c = 0;
  double detail = 0;
  double counters[4] = {0, 0, 0, 0};  // messages/bytes to app, messages/bytes to client
};

struct Counters {
  uint64_t messagesToApp = 0, bytesToApp = 0, messagesToClient = 0, bytesToClient = 0;
};

struct Side {
  int fd = -1;
  bool readEnded = false;     // EOF or read error seen
  bool endRequested = false;  // end(): shut the write half once `out` is flushed
  bool shutDone = false;
  bool closed = false;
  bool autoEnd = false;  // allowHalfOpen: false (Node's default for a connect()ed socket)
  bool registered = false;
  uint32_t interest = 0;
  std::vector<uint8_t> out;  // bytes the kernel would not take yet (bounded: see kReadBytes)
  size_t outHead = 0;
  bool Writable() const { return !endRequested && !closed; }
  size_t Queued() const { return out.size() - outHead; }
};

struct Direction {
  explicit Direction(bool sourceIsClient) : scanner(sourceIsClient) {}
  FrameScanner scanner;
  bool sealed = false;
  bool sourceClosed = false;
  bool failed = false;  // a protocol error was reported: nothing more of this source is forwarded
  bool hasPending = false;
  std::vector<uint8_t> pending;
  bool consumingPongs = false;
  bool holdingPong = false;
  std::vector<uint8_t> heldPong;
};

struct Tunnel {
  uint32_t id = 0;
  Side sides[2];
  Direction directions[2] = {Direction(true), Direction(false)};
  bool active = true;
  bool finished = false;
};

class Engine {
 public:
  /** Bytes read from a socket at once; also what one direction may queue for its sink. */
  static constexpr size_t kReadBytes = 16 * 1024;
  using EventSink = std::function<void()>;

  /** `wake` is called (from the epoll thread) when events wait in TakeEvents(). */
  explicit Engine(EventSink wake);
  ~Engine();
  bool Start();
  void Stop();

  /** Takes ownership of two connected non-blocking sockets; `clientHead`/`upstreamHead` are bytes already read from them. */
  uint32_t Adopt(int clientFd, int upstreamFd, const uint8_t* clientHead, size_t clientHeadLen, const uint8_t* upstreamHead,
                 size_t upstreamHeadLen, bool consumePongs);
  std::vector<Event> TakeEvents();

  // Pump commands (pump.ts): false when the tunnel is gone or the command did not apply.
  bool InjectAndSeal(uint32_t id, int dir, const uint8_t* frame, size_t len, Boundary boundary);
  void InjectBeforeSourceClose(uint32_t id, int dir, const uint8_t* frame, size_t len);
  void RelaxToFrameBoundary(uint32_t id, int dir);
  bool SealAtFrameBoundary(uint32_t id, int dir, const uint8_t* frame, size_t len);
  bool WriteAtFrameBoundary(uint32_t id, int dir, const uint8_t* frame, size_t len);
  void WriteAndSeal(uint32_t id, int dir, const uint8_t* frame, size_t len);
  /** Bit 0 sealed, bit 1 source closed. */
  int DirectionState(uint32_t id, int dir);

  // Socket commands (net.Socket): end() after the queue drains, destroy(), resetAndDestroy().
  void End(uint32_t id, int side);
  void Destroy(uint32_t id, int side, bool reset);
  /** Bit 0 writableEnded, bit 1 destroyed, bit 2 bytes still queued for it (writableLength > 0). */
  int SideState(uint32_t id, int side);

  /** Reads and, with `clear`, resets the activity flag. */
  bool TakeActive(uint32_t id, bool clear);
  bool ReadCounters(uint32_t id, Counters* out);
  size_t TunnelCount();
  /** Bytes queued natively for sinks (all tunnels), for the memory budget and tests. */
  size_t QueuedBytes();

 private:
  void Run();
  void HandleEvent(uint64_t tag, uint32_t events);
  void OnReadable(Tunnel& t, int side);
  void OnWritable(Tunnel& t, int side);
  void OnData(Tunnel& t, int dir, const uint8_t* chunk, size_t len);
  void Forward(Tunnel& t, int dir, const uint8_t* chunk, size_t from, size_t to);
  void SinkWrite(Tunnel& t, int side, const uint8_t* data, size_t len);
  void FlushPending(Tunnel& t, int dir);
  void JudgePong(Tunnel& t, int dir);
  bool BoundaryReached(const Direction& d) const;
  void SideFailed(Tunnel& t, int side);
  void MaybeShutdown(Tunnel& t, int side);
  void CloseSide(Tunnel& t, int side, bool reset);
  void Refresh(Tunnel& t);
  void Emit(const Event& event);
  void Reap();
  Tunnel* Find(uint32_t id);

  /** Runs `body` on a live tunnel under the lock, then re-arms its sockets and delivers any events it caused. */
  template <typename Result, typename Body>
  Result Command(uint32_t id, Result fallback, Body body) {
    bool wake = false;
    Result result = fallback;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Tunnel* t = Find(id);
      if (t != nullptr) {
        result = body(*t);
        Refresh(*t);
        Reap();
      }
      if (!events_.empty() && !wakePending_) wake = wakePending_ = true;
    }
    if (wake) wake_();
    return result;
  }

  EventSink wake_;
  int epoll_ = -1;
  int wakeFd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  uint32_t nextId_ = 1;
  std::unordered_map<uint32_t, std::unique_ptr<Tunnel>> tunnels_;
  std::vector<uint32_t> dead_;
  std::vector<Event> events_;
  bool wakePending_ = false;
  uint8_t readBuffer_[kReadBytes];
};

/** True if `frame` (one whole masked pong from a client) answers the sidecar's ping (frames.ts isSidecarPong). */
bool IsSidecarPong(const uint8_t* frame, size_t len);

}  // namespace wss
