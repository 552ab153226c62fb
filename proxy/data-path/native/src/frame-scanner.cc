// See frame-scanner.h; each branch mirrors a line of frame-scanner.ts.
#include "frame-scanner.h"

namespace wss {
namespace {
constexpr uint64_t kMaxControlPayload = 125;

uint32_t Read32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
}  // namespace

size_t FrameScanner::Scan(const uint8_t* buf, size_t end, size_t pos) {
  event = ScanEvent::None;
  if (error != FrameError::None) return Fail(end, error, errorDetail, false);
  uint64_t detail = 0;
  while (pos < end) {
    if (remaining_ > 0) {
      const uint64_t available = end - pos;
      const uint64_t take = static_cast<uint64_t>(remaining_) < available ? static_cast<uint64_t>(remaining_) : available;
      if (opcode_ == kOpClose && payloadIndex_ < 2) CaptureCode(buf, pos, take);
      payloadIndex_ += take;
      remaining_ -= static_cast<int64_t>(take);
      pos += take;
      if (remaining_ > 0) return end;
      if (FrameEnded()) return pos;
      continue;
    }
    if (headerFill_ == 0) {
      const uint8_t b0 = buf[pos];
      if ((b0 & 0x08) && stopBeforeControl && !startReported_) {
        startReported_ = true;
        lastOpcode = b0 & 0x0f;
        event = ScanEvent::ControlStart;
        return pos;
      }
      FrameError problem = CheckFirstByte(b0, &detail);
      if (problem != FrameError::None) return Fail(pos, problem, detail, true);
      // Fast path: the whole header is in this chunk.
      if (end - pos >= 2) {
        const size_t length = HeaderLength(buf[pos + 1]);
        if (end - pos >= length) {
          problem = ReadHeader(buf + pos, &detail);
          if (problem != FrameError::None) return Fail(pos, problem, detail, true);
          pos += length;
          if (remaining_ == 0 && FrameEnded()) return pos;
          continue;
        }
      }
    }
    // Slow path: the header is split across chunks; keep only its bytes.
    const bool startsHere = headerFill_ == 0;
    const size_t frameStart = pos;
    header_[headerFill_++] = buf[pos++];
    if (headerFill_ < 2 || static_cast<size_t>(headerFill_) < HeaderLength(header_[1])) continue;
    const FrameError problem = ReadHeader(header_, &detail);
    headerFill_ = 0;
    if (problem != FrameError::None) return Fail(startsHere ? frameStart : pos, problem, detail, startsHere);
    if (remaining_ == 0 && FrameEnded()) return pos;
  }
  return end;
}

FrameError FrameScanner::CheckFirstByte(uint8_t b0, uint64_t* detail) const {
  const int opcode = b0 & 0x0f;
  const bool fin = (b0 & 0x80) != 0;
  *detail = static_cast<uint64_t>(opcode);
  if ((opcode > 0x2 && opcode < 0x8) || opcode > 0xa) return FrameError::ReservedOpcode;
  if (opcode >= 0x8 && !fin) return FrameError::FragmentedControl;
  if (opcode == 0 && !fragmented_) return FrameError::UnexpectedContinuation;
  if ((opcode == 1 || opcode == 2) && fragmented_) return FrameError::InterleavedMessage;
  return FrameError::None;
}

FrameError FrameScanner::ReadHeader(const uint8_t* at, uint64_t* detail) {
  const uint8_t b0 = at[0];
  const uint8_t b1 = at[1];
  opcode_ = b0 & 0x0f;
  fin_ = (b0 & 0x80) != 0;
  const bool isMasked = (b1 & 0x80) != 0;
  if (isMasked != masked_) return masked_ ? FrameError::UnmaskedFromClient : FrameError::MaskedFromServer;
  uint64_t length = b1 & 0x7f;
  const uint8_t* next = at + 2;
  if (length == 126) {
    length = (uint64_t{next[0]} << 8) | next[1];
    next += 2;
  } else if (length == 127) {
    const uint32_t high = Read32(next);
    if (high > 0x1fffff) return FrameError::TooLong;
    length = (uint64_t{high} << 32) | Read32(next + 4);
    next += 8;
  }
  if (opcode_ >= 0x8 && length > kMaxControlPayload) {
    *detail = length;
    return FrameError::ControlTooLong;
  }
  if (opcode_ == kOpClose && length == 1) return FrameError::BadClose;
  // Only a close frame's payload is ever read (its code), so only it needs the key.
  maskKey_ = isMasked && opcode_ == kOpClose ? Read32(next) : 0;
  remaining_ = static_cast<int64_t>(length);
  payloadIndex_ = 0;
  if (opcode_ < 0x8) {
    payloadBytes += length;
  } else {
    codeHigh_ = codeLow_ = -1;
  }
  return FrameError::None;
}

void FrameScanner::CaptureCode(const uint8_t* buf, size_t pos, size_t take) {
  for (size_t i = 0; i < take && payloadIndex_ + i < 2; i++) {
    const uint64_t index = payloadIndex_ + i;
    const int maskByte = static_cast<int>((maskKey_ >> (24 - 8 * index)) & 0xff);
    const int value = buf[pos + i] ^ maskByte;
    if (index == 0) {
      codeHigh_ = value;
    } else {
      codeLow_ = value;
    }
  }
}

bool FrameScanner::FrameEnded() {
  remaining_ = -1;
  startReported_ = false;
  if (opcode_ >= 0x8) {
    lastOpcode = opcode_;
    if (opcode_ == kOpClose) closeCode = codeHigh_ < 0 ? kCloseNoStatus : codeHigh_ * 256 + codeLow_;
    event = ScanEvent::ControlEnd;
    return true;
  }
  if (fin_) {
    fragmented_ = false;
    messages++;
  } else {
    fragmented_ = true;
  }
  if (wantBoundary == Boundary::Frame || (wantBoundary == Boundary::Message && fin_)) {
    event = ScanEvent::Boundary;
    return true;
  }
  return false;
}

size_t FrameScanner::Fail(size_t pos, FrameError code, uint64_t detail, bool atFrameStart) {
  if (error == FrameError::None) {
    error = code;
    errorDetail = detail;
    errorAtFrameStart = atFrameStart;
  }
  event = ScanEvent::Error;
  return pos;
}

}  // namespace wss
