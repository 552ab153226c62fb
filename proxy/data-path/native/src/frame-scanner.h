// C++ twin of proxy/protocol/frame-scanner.ts (the reference): an incremental,
// header-only RFC 6455 frame scanner for one direction of a tunnel. Same state
// machine, same stops, same errors; test/data-path/native-scanner-diff.test.ts
// feeds both the same streams and requires identical events.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wss {

enum class ScanEvent : uint8_t { None = 0, ControlStart = 1, ControlEnd = 2, Boundary = 3, Error = 4 };
enum class Boundary : uint8_t { None = 0, Frame = 1, Message = 2 };

// Order matches NATIVE_FRAME_ERRORS in proxy/data-path/native-frame-errors.ts.
enum class FrameError : uint8_t {
  None = 0,
  ReservedOpcode,
  FragmentedControl,
  UnexpectedContinuation,
  InterleavedMessage,
  UnmaskedFromClient,
  MaskedFromServer,
  TooLong,
  ControlTooLong,
  BadClose,
};

constexpr int kOpClose = 0x8;
constexpr int kOpPing = 0x9;
constexpr int kOpPong = 0xa;
constexpr int kCloseNoStatus = 1005;

class FrameScanner {
 public:
  explicit FrameScanner(bool expectMasked) : masked_(expectMasked) {}

  /** Scans buf[pos, end); returns the offset of the next stop (see `event`) or `end`. */
  size_t Scan(const uint8_t* buf, size_t end, size_t pos);

  bool AtFrameBoundary() const { return remaining_ < 0 && headerFill_ == 0 && error == FrameError::None; }
  bool AtMessageBoundary() const { return AtFrameBoundary() && !fragmented_; }

  uint64_t messages = 0;
  uint64_t payloadBytes = 0;
  ScanEvent event = ScanEvent::None;
  int lastOpcode = 0;
  int closeCode = 0;
  FrameError error = FrameError::None;
  /** The number an error message quotes (an opcode or a length). */
  uint64_t errorDetail = 0;
  bool errorAtFrameStart = false;
  Boundary wantBoundary = Boundary::None;
  bool stopBeforeControl = false;

 private:
  FrameError CheckFirstByte(uint8_t b0, uint64_t* detail) const;
  FrameError ReadHeader(const uint8_t* at, uint64_t* detail);
  void CaptureCode(const uint8_t* buf, size_t pos, size_t take);
  bool FrameEnded();
  size_t Fail(size_t pos, FrameError code, uint64_t detail, bool atFrameStart);

  const bool masked_;
  /** Payload bytes left in the current frame; -1 while reading a header. */
  int64_t remaining_ = -1;
  int opcode_ = 0;
  bool fin_ = false;
  bool fragmented_ = false;
  uint8_t header_[14] = {};
  int headerFill_ = 0;
  bool startReported_ = false;
  uint64_t payloadIndex_ = 0;
  uint32_t maskKey_ = 0;
  int codeHigh_ = 0;
  int codeLow_ = 0;
};

/** Header size implied by the second header byte. */
inline size_t HeaderLength(uint8_t b1) {
  const int length = b1 & 0x7f;
  return 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
}

}  // namespace wss
