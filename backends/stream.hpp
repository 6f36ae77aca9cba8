#pragma once
// Line-oriented byte streams over file descriptors, on the event loop.
// Pipes, sockets and terminals are read and written asynchronously; regular
// files and /dev/null (which epoll refuses) fall back to plain read/write.
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "core/jsonrpc.hpp"

namespace mcpbraid {

// Reads lines from a descriptor it owns and hands each to `on_line`; calls
// `on_eof` once at end of stream or on a read error. A line longer than
// max_line is not kept: `on_oversized` gets its head and its length.
class LineReader {
 public:
  using OnLine = std::function<void(std::string&)>;
  using OnEof = std::function<void()>;
  using OnOversized = std::function<void(std::string& head, std::size_t size)>;
  LineReader(asio::io_context& io, int fd, OnLine on_line, OnEof on_eof,
             std::size_t max_line = kDefaultMaxLine, OnOversized on_oversized = nullptr);
  ~LineReader();
  void start();
  void close();  // stops reading; on_eof is not called afterwards
  // Backpressure: while paused no line is delivered and nothing is read, so
  // the writer at the other end blocks once the pipe is full.
  void pause() { paused_ = true; }
  void resume();
  bool paused() const { return paused_; }
  std::size_t oversized_lines() const { return splitter_.oversized(); }

 private:
  void read_async();
  void read_blocking();
  void deliver(std::size_t n);
  void deliver_buffered();
  void finish();

  asio::io_context& io_;
  int fd_;
  asio::posix::stream_descriptor stream_;
  bool pollable_ = true;
  bool closed_ = false;
  bool paused_ = false;
  bool reading_ = false;  // a read is outstanding (or posted)
  bool at_eof_ = false;   // the descriptor ended while paused
  OnLine on_line_;
  OnEof on_eof_;
  OnOversized on_oversized_;
  LineSplitter splitter_;
  std::string line_;
  std::unique_ptr<char[]> buffer_;
  // Outstanding handlers check this before touching `this`.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// A write queue for one descriptor it owns: send() never blocks the loop on
// a pollable descriptor, and writes never interleave. Messages are written in
// order: what is queued while a handler runs goes out in one writev after it.
class LineWriter {
 public:
  LineWriter(asio::io_context& io, int fd);
  ~LineWriter();
  // Queues data[offset..]: a large message can go without its head (sent
  // separately just before) and without being shifted to drop it.
  void send(std::string data, std::size_t offset = 0);
  bool idle() const { return queue_.empty() && !writing_; }
  // Runs after each write that took bytes off the queue (for backpressure).
  void set_on_written(std::function<void()> fn) { on_written_ = std::move(fn); }
  bool broken() const { return broken_; }
  std::size_t queued_bytes() const { return queued_bytes_; }
  // Closes the descriptor now (queued data is dropped).
  void close();

 private:
  void schedule_flush();
  void flush();
  asio::posix::stream_descriptor stream_;
  int fd_;
  bool pollable_ = true;
  bool writing_ = false;       // waiting for the descriptor to take more
  bool flush_posted_ = false;  // a flush runs once the current handler returns
  bool broken_ = false;
  struct Chunk {
    std::string data;
    std::size_t offset;
  };
  std::deque<Chunk> queue_;
  std::size_t queued_bytes_ = 0;
  std::function<void()> on_written_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mcpbraid
