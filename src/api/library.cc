// libparallelagram.so's own translation unit: the library is the pg_api layer linked whole
// (CMakeLists.txt), with the layers it uses; nothing else is defined here.
namespace parallelagram {}
