// line_io.hpp — newline-delimited I/O on pipes for the benchmark programs.
//
// Both the fixture server and the load client read large chunks and hand out
// lines as views into one buffer (no copy per line), and write whole batches
// with as few write() calls as the pipe allows.  Header-only: two small
// programs share it and nothing else does.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// Bytes read from a file descriptor, handed out line by line.
class LineBuffer {
 public:
  LineBuffer() : data_(kInitialSize) {}

  // One read() of whatever is available.  Returns the byte count, 0 at end of
  // file, -1 on error (errno set; EAGAIN on an empty non-blocking pipe).
  // Invalidates the views returned by next_line().
  ssize_t fill(int fd) {
    make_room();
    ssize_t n;
    do {
      n = ::read(fd, data_.data() + end_, data_.size() - end_);
    } while (n < 0 && errno == EINTR);
    if (n > 0) end_ += static_cast<std::size_t>(n);
    return n;
  }

  // The next complete line, without its '\n'; valid until the next fill().
  std::optional<std::string_view> next_line() {
    const char* base = data_.data();
    auto* newline = static_cast<const char*>(std::memchr(base + scan_, '\n', end_ - scan_));
    if (newline == nullptr) {
      scan_ = end_;  // a long line is searched once, not once per read
      return std::nullopt;
    }
    std::string_view line(base + begin_, static_cast<std::size_t>(newline - base) - begin_);
    begin_ = scan_ = static_cast<std::size_t>(newline - base) + 1;
    return line;
  }

  // Bytes received but not yet handed out as a line.
  std::size_t pending() const { return end_ - begin_; }

 private:
  static constexpr std::size_t kInitialSize = 1 << 20;
  static constexpr std::size_t kMinRead = 256 * 1024;

  // Keeps at least kMinRead free bytes after end_: first by dropping the
  // lines already handed out, then by growing (a line longer than the buffer).
  void make_room() {
    if (begin_ == end_) begin_ = scan_ = end_ = 0;
    if (data_.size() - end_ >= kMinRead) return;
    if (begin_ > 0) {
      std::memmove(data_.data(), data_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      scan_ -= begin_;
      begin_ = 0;
    }
    if (data_.size() - end_ < kMinRead) data_.resize(data_.size() * 2);
  }

  std::vector<char> data_;
  std::size_t begin_ = 0;  // first byte not yet handed out
  std::size_t scan_ = 0;   // bytes before this are known to hold no '\n'
  std::size_t end_ = 0;    // end of the bytes read
};

// Output waiting for a non-blocking pipe.
class OutputQueue {
 public:
  std::string& buffer() { return data_; }
  bool empty() const { return offset_ == data_.size(); }

  // Writes as much as the pipe takes now.  Returns false when the reader has
  // gone away (EPIPE) or on another write error.
  bool write_some(int fd) {
    while (!empty()) {
      ssize_t n = ::write(fd, data_.data() + offset_, data_.size() - offset_);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (n <= 0) return false;
      offset_ += static_cast<std::size_t>(n);
    }
    data_.clear();  // keeps the capacity: the next batch does not allocate
    offset_ = 0;
    return true;
  }

 private:
  std::string data_;
  std::size_t offset_ = 0;  // bytes of data_ already written
};

inline void set_non_blocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace bench
