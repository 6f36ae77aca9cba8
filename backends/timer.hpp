#pragma once
// Every timer in backends/ runs on core's Clock, so that a test can drive
// time by hand (see core/clock.hpp).
#include <asio/basic_waitable_timer.hpp>

#include "core/clock.hpp"

namespace mcpbraid {

using Timer = asio::basic_waitable_timer<Clock>;

}  // namespace mcpbraid
