// Commands from JavaScript, each the twin of a Pump or net.Socket method of the
// JS plane (pump.ts, tunnel.ts). They run on the JS thread under the engine's
// mutex, so they see a tunnel between two chunks, exactly as the JS pump would.
#include <sys/epoll.h>

#include "engine.h"

namespace wss {

bool Engine::InjectAndSeal(uint32_t id, int dir, const uint8_t* frame, size_t len, Boundary boundary) {
  return Command(id, false, [&](Tunnel& t) {
    Direction& d = t.directions[dir];
    if (!d.sealed) {
      d.pending.assign(frame, frame + len);
      d.hasPending = true;
      d.scanner.wantBoundary = boundary;
      d.scanner.stopBeforeControl = true;
      if (BoundaryReached(d)) FlushPending(t, dir);
      return d.sealed;
    }
    return false;
  });
}

void Engine::InjectBeforeSourceClose(uint32_t id, int dir, const uint8_t* frame, size_t len) {
  Command(id, 0, [&](Tunnel& t) {
    Direction& d = t.directions[dir];
    if (!d.sealed) {
      d.pending.assign(frame, frame + len);
      d.hasPending = true;
      d.scanner.wantBoundary = Boundary::None;
      d.scanner.stopBeforeControl = true;
    }
    return 0;
  });
}

void Engine::RelaxToFrameBoundary(uint32_t id, int dir) {
  Command(id, 0, [&](Tunnel& t) {
    Direction& d = t.directions[dir];
    if (!d.sealed && d.hasPending) {
      d.scanner.wantBoundary = Boundary::Frame;
      if (d.scanner.AtFrameBoundary()) FlushPending(t, dir);
    }
    return 0;
  });
}

bool Engine::WriteAtFrameBoundary(uint32_t id, int dir, const uint8_t* frame, size_t len) {
  return Command(id, false, [&](Tunnel& t) {
    Direction& d = t.directions[dir];
    const int sink = 1 - dir;
    if (!d.sealed && d.scanner.AtFrameBoundary() && t.sides[sink].Writable()) {
      SinkWrite(t, sink, frame, len);
      return true;
    }
    return false;
  });
}

bool Engine::SealAtFrameBoundary(uint32_t id, int dir, const uint8_t* frame, size_t len) {
  return Command(id, false, [&](Tunnel& t) {
    Direction& d = t.directions[dir];
    const int sink = 1 - dir;
    // A close already waiting to be injected wins over `frame`.
    std::vector<uint8_t> last = d.hasPending ? d.pending : std::vector<uint8_t>(frame, frame + len);
    if (!d.sealed && d.scanner.AtFrameBoundary() && t.sides[sink].Writable()) {
      SinkWrite(t, sink, last.data(), last.size());
      d.pending.clear();
      d.hasPending = false;
      d.sealed = true;
      return true;
    }
    return false;
  });
}

void Engine::WriteAndSeal(uint32_t id, int dir, const uint8_t* frame, size_t len) {
  Command(id, 0, [&](Tunnel& t) {
    Direction& d = t.directions[dir];
    if (!d.sealed) {
      d.pending.assign(frame, frame + len);
      d.hasPending = true;
      FlushPending(t, dir);
    }
    return 0;
  });
}

int Engine::DirectionState(uint32_t id, int dir) {
  std::lock_guard<std::mutex> lock(mu_);
  Tunnel* t = Find(id);
  if (t == nullptr) return 1;
  const Direction& d = t->directions[dir];
  return (d.sealed ? 1 : 0) | (d.sourceClosed ? 2 : 0);
}

void Engine::End(uint32_t id, int side) {
  Command(id, 0, [&](Tunnel& t) {
    Side& s = t.sides[side];
    if (!s.closed && !s.endRequested) {
      s.endRequested = true;
      MaybeShutdown(t, side);
    }
    return 0;
  });
}

void Engine::Destroy(uint32_t id, int side, bool reset) {
  Command(id, 0, [&](Tunnel& t) {
    CloseSide(t, side, reset);
    return 0;
  });
}

int Engine::SideState(uint32_t id, int side) {
  std::lock_guard<std::mutex> lock(mu_);
  Tunnel* t = Find(id);
  if (t == nullptr) return 3;
  const Side& s = t->sides[side];
  return (s.endRequested || s.closed ? 1 : 0) | (s.closed ? 2 : 0) | (s.Queued() > 0 ? 4 : 0);
}

bool Engine::TakeActive(uint32_t id, bool clear) {
  std::lock_guard<std::mutex> lock(mu_);
  Tunnel* t = Find(id);
  if (t == nullptr) return false;
  const bool active = t->active;
  if (clear) t->active = false;
  return active;
}

bool Engine::ReadCounters(uint32_t id, Counters* out) {
  std::lock_guard<std::mutex> lock(mu_);
  Tunnel* t = Find(id);
  if (t == nullptr) return false;
  out->messagesToApp = t->directions[kToApp].scanner.messages;
  out->bytesToApp = t->directions[kToApp].scanner.payloadBytes;
  out->messagesToClient = t->directions[kToClient].scanner.messages;
  out->bytesToClient = t->directions[kToClient].scanner.payloadBytes;
  return true;
}

size_t Engine::TunnelCount() {
  std::lock_guard<std::mutex> lock(mu_);
  return tunnels_.size();
}

size_t Engine::QueuedBytes() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t total = 0;
  for (auto& entry : tunnels_) total += entry.second->sides[0].Queued() + entry.second->sides[1].Queued();
  return total;
}

}  // namespace wss
