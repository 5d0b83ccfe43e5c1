// The twin of unserialisable.cc that must compile: the same function once Opaque has its
// conversions (so the check above fails for the right reason).
#include <parallelagram/parallelagram.h>

struct Opaque {
  int x = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Opaque, x)

int UseOpaque(const Opaque& o) { return o.x; }
PARALLELAGRAM_FUNCTION(UseOpaque);
