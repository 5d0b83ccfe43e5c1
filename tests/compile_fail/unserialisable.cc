// Must NOT compile: a registered function whose argument type has no to_json/from_json.
// CMakeLists.txt's build.unserialisable_type_is_a_readable_compile_error checks that the
// compiler refuses it with parallelagram's own message.
#include <parallelagram/parallelagram.h>

struct Opaque {
  int x = 0;
};

int UseOpaque(const Opaque& o) { return o.x; }
PARALLELAGRAM_FUNCTION(UseOpaque);
