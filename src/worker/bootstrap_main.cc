// bootstrap: the Lambda custom runtime (provided.al2023). See docs/protocol.md.
#include "parallelagram/worker.h"

int main() { return parallelagram::RunWorker(); }
