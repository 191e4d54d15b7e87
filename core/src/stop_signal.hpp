// SIGINT and SIGTERM as a request: the first one asks the running run to save a checkpoint and
// stop between steps; one more within a second is the same request (`timeout` sends its signal
// twice); one after that ends the process at once, as signals normally do.
#pragma once

namespace parrot {

void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked, 0 if none

}  // namespace parrot
