// The text of an XML answer's child element, shared by the IAM and S3 parsers.
#pragma once

#include <pugixml.hpp>
#include <string>

namespace parallelagram::aws {

// The text of `n`'s first child named `child`; "" when there is none.
inline std::string ChildText(const pugi::xml_node& n, const char* child) {
  return n.child(child).text().as_string();
}

}  // namespace parallelagram::aws
