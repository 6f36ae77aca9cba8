#include "backends/stream.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <vector>

namespace mcpbraid {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxBatch = 64;

// epoll refuses regular files and /dev/null; assign() tells us.
bool try_assign(asio::posix::stream_descriptor& stream, int fd) {
  asio::error_code ec;
  stream.assign(fd, ec);
  if (ec) return false;
  stream.non_blocking(true, ec);
  return true;
}

}  // namespace

LineReader::LineReader(asio::io_context& io, int fd, OnLine on_line, OnEof on_eof,
                       std::size_t max_line, OnOversized on_oversized)
    : io_(io),
      fd_(fd),
      stream_(io),
      on_line_(std::move(on_line)),
      on_eof_(std::move(on_eof)),
      on_oversized_(std::move(on_oversized)),
      splitter_(max_line),
      buffer_(new char[kReadChunk]) {
  pollable_ = try_assign(stream_, fd);
}

LineReader::~LineReader() {
  *alive_ = false;
  close();
}

void LineReader::start() {
  reading_ = true;
  if (pollable_)
    read_async();
  else
    asio::post(io_, [this, alive = alive_] {
      if (*alive) read_blocking();
    });
}

void LineReader::resume() {
  if (!paused_) return;
  paused_ = false;
  // Lines already buffered go first, from the loop (not from inside the
  // caller's handler), then reading goes on.
  asio::post(io_, [this, alive = alive_] {
    if (!*alive || closed_ || paused_) return;
    deliver_buffered();
    if (closed_ || paused_) return;
    if (at_eof_) return finish();
    if (!reading_) start();
  });
}

void LineReader::close() {
  if (closed_) return;
  closed_ = true;
  asio::error_code ec;
  if (pollable_) {
    stream_.cancel(ec);
    stream_.close(ec);
  } else if (fd_ >= 0) {
    ::close(fd_);
  }
  fd_ = -1;
}

void LineReader::read_async() {
  stream_.async_read_some(asio::buffer(buffer_.get(), kReadChunk),
                          [this, alive = alive_](asio::error_code ec, std::size_t n) {
                            if (!*alive || closed_) return;
                            reading_ = false;
                            if (ec) {
                              if (paused_) return void(at_eof_ = true);
                              return finish();
                            }
                            deliver(n);
                            if (!closed_ && !paused_) {
                              reading_ = true;
                              read_async();
                            }
                          });
}

// Regular files never block for long; read a chunk, then yield to the loop
// so other work (backend output) interleaves.
void LineReader::read_blocking() {
  reading_ = false;
  if (closed_) return;
  ssize_t n;
  do {
    n = ::read(fd_, buffer_.get(), kReadChunk);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    if (paused_) return void(at_eof_ = true);
    return finish();
  }
  deliver(static_cast<std::size_t>(n));
  if (closed_ || paused_) return;
  reading_ = true;
  asio::post(io_, [this, alive = alive_] {
    if (*alive) read_blocking();
  });
}

void LineReader::deliver(std::size_t n) {
  splitter_.append(std::string_view(buffer_.get(), n));
  deliver_buffered();
}

void LineReader::deliver_buffered() {
  while (!closed_ && !paused_) {
    LineSplitter::Piece piece = splitter_.next(line_);
    if (piece == LineSplitter::Piece::none) return;
    if (piece == LineSplitter::Piece::line)
      on_line_(line_);
    else if (on_oversized_)
      on_oversized_(line_, splitter_.oversized_size());
  }
}

void LineReader::finish() {
  if (!closed_) {
    LineSplitter::Piece piece = splitter_.take_tail(line_);
    if (piece == LineSplitter::Piece::line)
      on_line_(line_);
    else if (piece == LineSplitter::Piece::oversized && on_oversized_)
      on_oversized_(line_, splitter_.oversized_size());
  }
  if (closed_) return;
  close();
  if (on_eof_) on_eof_();
}

LineWriter::LineWriter(asio::io_context& io, int fd) : stream_(io), fd_(fd) {
  pollable_ = try_assign(stream_, fd);
}

LineWriter::~LineWriter() {
  *alive_ = false;
  close();
}

void LineWriter::close() {
  if (fd_ < 0) return;
  asio::error_code ec;
  if (pollable_) {
    stream_.cancel(ec);
    stream_.close(ec);
  } else {
    ::close(fd_);
  }
  fd_ = -1;
  broken_ = true;
  queue_.clear();
  queued_bytes_ = 0;
}

void LineWriter::send(std::string data, std::size_t offset) {
  if (broken_ || fd_ < 0 || offset >= data.size()) return;
  if (!pollable_) {
    // Regular file: a plain blocking write.
    std::size_t done = offset;
    while (done < data.size()) {
      ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        broken_ = true;
        return;
      }
      done += static_cast<std::size_t>(n);
    }
    return;
  }
  queued_bytes_ += data.size() - offset;
  queue_.push_back(Chunk{std::move(data), offset});
  schedule_flush();
}

void LineWriter::schedule_flush() {
  if (writing_ || flush_posted_) return;
  flush_posted_ = true;
  asio::post(stream_.get_executor(), [this, alive = alive_] {
    if (!*alive) return;
    flush_posted_ = false;
    flush();
  });
}

// Writes as much of the queue as the descriptor takes now, in one writev;
// the rest waits for it to become writable.
void LineWriter::flush() {
  while (!queue_.empty() && !broken_) {
    iovec iov[kMaxBatch];
    std::size_t count = std::min(queue_.size(), kMaxBatch);
    for (std::size_t i = 0; i < count; ++i) {
      Chunk& chunk = queue_[i];
      iov[i].iov_base = chunk.data.data() + chunk.offset;
      iov[i].iov_len = chunk.data.size() - chunk.offset;
    }
    ssize_t n = ::writev(fd_, iov, static_cast<int>(count));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      broken_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      return;
    }
    auto written = static_cast<std::size_t>(std::max<ssize_t>(n, 0));
    queued_bytes_ -= written;
    if (written > 0 && on_written_) {
      // Posted: the callback may resume readers, which must not run inside
      // whatever handler is flushing.
      asio::post(stream_.get_executor(), [this, alive = alive_] {
        if (!*alive || !on_written_) return;
        auto fn = on_written_;  // it may replace itself
        fn();
      });
    }
    while (written > 0) {
      Chunk& front = queue_.front();
      std::size_t left = front.data.size() - front.offset;
      if (written < left) {
        front.offset += written;
        break;
      }
      written -= left;
      queue_.pop_front();
    }
    if (n < 0 || (!queue_.empty() && count < kMaxBatch)) {
      // Full pipe: wait until the reader makes room.
      writing_ = true;
      stream_.async_wait(asio::posix::stream_descriptor::wait_write,
                         [this, alive = alive_](asio::error_code ec) {
                           if (!*alive) return;
                           writing_ = false;
                           if (ec) {
                             broken_ = true;
                             return;
                           }
                           flush();
                         });
      return;
    }
  }
}

}  // namespace mcpbraid
