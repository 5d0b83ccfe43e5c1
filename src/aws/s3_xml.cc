#include "aws/s3_xml.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <pugixml.hpp>
#include <sstream>

#include "aws/aws_error.h"
#include "aws/sigv4.h"
#include "aws/xml_text.h"
#include "common/base64.h"

namespace parallelagram::aws {
namespace {

constexpr const char* kS3Ns = "http://s3.amazonaws.com/doc/2006-03-01/";

Status ParseDoc(pugi::xml_document& doc, std::string_view xml, const char* op) {
  pugi::xml_parse_result r = doc.load_buffer(xml.data(), xml.size());
  if (!r) {
    return Status::ProtocolError(std::string("S3 ") + op + ": response is not XML (" +
                                 r.description() + ")");
  }
  return Status::Ok();
}

}  // namespace

std::string S3DecodeUrlForm(std::string_view value) {
  std::string spaced;
  spaced.reserve(value.size());
  for (char c : value) {
    if (c == '+') {
      spaced += "%20";
    } else {
      spaced.push_back(c);
    }
  }
  return UriDecode(spaced);
}

bool IsValidBucketName(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  int dots = 0;
  bool all_digits_and_dots = true;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!alnum(c) && c != '.' && c != '-') return false;
    if (c == '.') {
      ++dots;
      if (i > 0 && (name[i - 1] == '.' || name[i - 1] == '-')) return false;
      if (i + 1 < name.size() && name[i + 1] == '-') return false;
    }
    if (!(c == '.' || (c >= '0' && c <= '9'))) all_digits_and_dots = false;
  }
  if (dots == 3 && all_digits_and_dots) return false;  // looks like an IPv4 address
  return true;
}

bool IsVirtualHostable(std::string_view name) {
  return IsValidBucketName(name) && name.find('.') == std::string_view::npos;
}

std::string ContentMd5(std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
  return Base64Encode(std::string_view(reinterpret_cast<char*>(md), len));
}

Result<ListObjectsPage> ParseListObjectsV2(std::string_view xml) {
  pugi::xml_document doc;
  PG_RETURN_IF_ERROR(ParseDoc(doc, xml, "ListObjectsV2"));
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!root) return Status::ProtocolError("S3 ListObjectsV2: no <ListBucketResult> in the answer");
  bool url = std::string_view(ChildText(root, "EncodingType")) == "url";
  auto dec = [url](std::string s) { return url ? S3DecodeUrlForm(s) : s; };
  ListObjectsPage page;
  for (pugi::xml_node c : root.children("Contents")) {
    S3Object o;
    o.key = dec(ChildText(c, "Key"));
    o.size = c.child("Size").text().as_llong(0);
    o.etag = ChildText(c, "ETag");
    o.last_modified = ChildText(c, "LastModified");
    o.storage_class = ChildText(c, "StorageClass");
    page.objects.push_back(std::move(o));
  }
  for (pugi::xml_node p : root.children("CommonPrefixes")) {
    page.common_prefixes.push_back(dec(ChildText(p, "Prefix")));
  }
  page.is_truncated = std::string_view(ChildText(root, "IsTruncated")) == "true";
  page.next_continuation_token = ChildText(root, "NextContinuationToken");
  if (page.is_truncated && page.next_continuation_token.empty()) {
    return Status::ProtocolError(
        "S3 ListObjectsV2: truncated page without a NextContinuationToken");
  }
  return page;
}

std::string BuildDeleteObjectsXml(const std::vector<std::string>& keys, bool quiet) {
  pugi::xml_document doc;
  pugi::xml_node del = doc.append_child("Delete");
  del.append_attribute("xmlns") = kS3Ns;
  for (const std::string& k : keys) {
    del.append_child("Object").append_child("Key").text().set(k.c_str());
  }
  if (quiet) del.append_child("Quiet").text().set("true");
  std::ostringstream os;
  doc.save(os, "", pugi::format_raw | pugi::format_no_declaration);
  return os.str();
}

Result<DeleteObjectsResult> ParseDeleteObjectsResult(std::string_view xml) {
  pugi::xml_document doc;
  PG_RETURN_IF_ERROR(ParseDoc(doc, xml, "DeleteObjects"));
  pugi::xml_node root = doc.child("DeleteResult");
  if (!root) return Status::ProtocolError("S3 DeleteObjects: no <DeleteResult> in the answer");
  DeleteObjectsResult out;
  for (pugi::xml_node d : root.children("Deleted")) out.deleted.push_back(ChildText(d, "Key"));
  for (pugi::xml_node e : root.children("Error")) {
    out.errors.push_back({ChildText(e, "Key"), ChildText(e, "Code"), ChildText(e, "Message")});
  }
  return out;
}

Result<std::string> ParseCreateMultipartUpload(std::string_view xml) {
  pugi::xml_document doc;
  PG_RETURN_IF_ERROR(ParseDoc(doc, xml, "CreateMultipartUpload"));
  std::string id = ChildText(doc.child("InitiateMultipartUploadResult"), "UploadId");
  if (id.empty())
    return Status::ProtocolError("S3 CreateMultipartUpload: no UploadId in the answer");
  return id;
}

std::string BuildCompleteMultipartUploadXml(const std::vector<CompletedPart>& parts) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
  root.append_attribute("xmlns") = kS3Ns;
  for (const CompletedPart& p : parts) {
    pugi::xml_node n = root.append_child("Part");
    n.append_child("PartNumber").text().set(p.part_number);
    n.append_child("ETag").text().set(p.etag.c_str());
  }
  std::ostringstream os;
  doc.save(os, "", pugi::format_raw | pugi::format_no_declaration);
  return os.str();
}

Result<std::string> ParseCompleteMultipartUpload(std::string_view xml) {
  pugi::xml_document doc;
  PG_RETURN_IF_ERROR(ParseDoc(doc, xml, "CompleteMultipartUpload"));
  if (pugi::xml_node err = doc.child("Error")) {
    std::string code = ChildText(err, "Code");
    return Status(ToStatusCode(code, 0), "S3 CompleteMultipartUpload failed: " + code + ": " +
                                             ChildText(err, "Message") + " (request id " +
                                             ChildText(err, "RequestId") + ")");
  }
  // S3 says <CompleteMultipartUploadResult>; moto <CompleteMultipartUploadResponse>.
  pugi::xml_node root = doc.document_element();
  if (!root || !root.child("ETag")) {
    return Status::ProtocolError(
        "S3 CompleteMultipartUpload: no <CompleteMultipartUploadResult> in the answer");
  }
  return ChildText(root, "ETag");
}

std::string BuildCreateBucketConfiguration(std::string_view region) {
  if (region.empty() || region == "us-east-1") return "";
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CreateBucketConfiguration");
  root.append_attribute("xmlns") = kS3Ns;
  root.append_child("LocationConstraint").text().set(std::string(region).c_str());
  std::ostringstream os;
  doc.save(os, "", pugi::format_raw | pugi::format_no_declaration);
  return os.str();
}

}  // namespace parallelagram::aws
