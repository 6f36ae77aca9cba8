// core/url: the strict parser of absolute http(s) URLs, origins, and the
// redacted form for logs.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/url.hpp"

namespace url = mcpbraid::url;

namespace {

// The parser's reason for refusing `text`, or "(parsed)".
std::string parse_error(const std::string& text) {
  std::string error;
  if (url::parse(text, &error)) return "(parsed)";
  return error;
}

}  // namespace

TEST_CASE("url: a full https URL splits into its parts") {
  auto p = url::parse("https://user:pa%20ss@Example.COM:8443/mcp/v1?token=abc&x=1#frag");
  REQUIRE(p);
  CHECK(p->scheme == "https");
  CHECK(p->userinfo == "user:pa%20ss");
  CHECK(p->host == "example.com");
  CHECK(p->port == 8443);
  CHECK(p->explicit_port);
  CHECK(p->path == "/mcp/v1");
  CHECK(p->query == "token=abc&x=1");
  CHECK(p->fragment == "frag");
}

TEST_CASE("url: default ports, empty path, case-insensitive scheme") {
  auto a = url::parse("HTTP://localhost");
  REQUIRE(a);
  CHECK(a->scheme == "http");
  CHECK(a->host == "localhost");
  CHECK(a->port == 80);
  CHECK_FALSE(a->explicit_port);
  CHECK(a->path == "");
  CHECK(a->query == "");
  CHECK(a->userinfo == "");
  auto b = url::parse("HtTpS://api.githubcopilot.com/mcp/");
  REQUIRE(b);
  CHECK(b->scheme == "https");
  CHECK(b->port == 443);
  CHECK(b->path == "/mcp/");
  auto c = url::parse("http://h?q");
  REQUIRE(c);
  CHECK(c->path == "");
  CHECK(c->query == "q");
  auto d = url::parse("http://h#f");
  REQUIRE(d);
  CHECK(d->path == "");
  CHECK(d->fragment == "f");
}

TEST_CASE("url: IPv4 and bracketed IPv6 hosts") {
  auto v4 = url::parse("http://127.0.0.1:3001/mcp");
  REQUIRE(v4);
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 3001);
  auto v6 = url::parse("http://[::1]:3001/mcp");
  REQUIRE(v6);
  CHECK(v6->host == "[::1]");
  CHECK(v6->port == 3001);
  auto v6b = url::parse("https://[2001:DB8::A]/x");
  REQUIRE(v6b);
  CHECK(v6b->host == "[2001:db8::a]");
  CHECK(v6b->port == 443);
  CHECK_FALSE(v6b->explicit_port);
  CHECK(url::parse("http://[::ffff:192.0.2.1]/"));
}

TEST_CASE("url: ports 1 to 65535 only") {
  CHECK(url::parse("http://h:1/")->port == 1);
  CHECK(url::parse("http://h:65535/")->port == 65535);
  CHECK(url::parse("http://h:08080/")->port == 8080);
  for (const char* bad :
       {"http://h:0/", "http://h:65536/", "http://h:/", "http://h:99999999999/", "http://h:80a/",
        "http://h:-1/", "http://h:+80/", "http://[::1]:/", "http://h:80:81/", "http://h:000080/"}) {
    CAPTURE(bad);
    CHECK(parse_error(bad) == "bad port");
  }
}

TEST_CASE("url: other schemes and relative references are refused") {
  for (const char* bad : {"ftp://h/", "ws://h/", "file:///etc/passwd", "https+unix://x/",
                          "javascript:alert(1)", "localhost:3000/mcp"}) {
    CAPTURE(bad);
    CHECK(parse_error(bad) == "scheme must be http or https");
  }
  for (const char* bad : {"", "/mcp", "example.com/mcp", "://h/", "1http://h/", "?x"}) {
    CAPTURE(bad);
    CHECK(parse_error(bad) == "missing scheme (expected http:// or https://)");
  }
}

TEST_CASE("url: a missing or empty host is refused") {
  for (const char* bad : {"http:", "http:h/mcp", "http:/h/mcp", "http://", "http:///mcp",
                          "http://:80/", "http://user@/x", "https://?q", "https://#f"}) {
    CAPTURE(bad);
    CHECK(parse_error(bad) == "missing host");
  }
}

TEST_CASE("url: spaces, control and non-ASCII characters are refused anywhere") {
  for (const std::string& bad : std::vector<std::string>{
           "http://h/a b", " http://h/", "http://h/\t", "http://h/\n",
           std::string("http://h/\0x", 10), "http://h/\x7f", "http://h/?a=\r\n", "http://h\x01/"}) {
    CAPTURE(bad);
    CHECK(parse_error(bad) == "contains a space or control character");
  }
  CHECK(parse_error("http://caf\xc3\xa9.example/") ==
        "contains a non-ASCII character (percent-encode it)");
}

TEST_CASE("url: bad hosts") {
  for (const char* bad :
       {"http://a_b\\evil/", "http://ex<ample/", "http://[::1/", "http://[]/", "http://[::1]x/",
        "http://[fe80::1%25eth0]/", "http://[v1.x]/", "http://a%zz/", "http://a%4/"}) {
    CAPTURE(bad);
    CHECK(parse_error(bad).rfind("bad host", 0) == 0);
  }
  // Hosts a WHATWG parser reads as IPv4 numbers must be dotted quads.
  for (const char* bad :
       {"http://256.1.1.1/", "http://1.2.3/", "http://0x7f.1/", "http://01.2.3.4/",
        "http://1.2.3.4.5/", "http://2130706433/", "http://a.0x10/"}) {
    CAPTURE(bad);
    CHECK(parse_error(bad) == "bad host (not an IPv4 address)");
  }
  CHECK(parse_error("http://[1:2]/") == "bad host (not an IPv6 address)");
  CHECK(url::parse("http://1.2.3.4.example/"));
  CHECK(url::parse("http://x1.example./"));
  CHECK(url::parse("http://my-host_1.local:8080/"));
}

TEST_CASE("url: userinfo, path, query and fragment characters") {
  CHECK(parse_error("http://a@b@h/") == "bad userinfo");
  CHECK(parse_error("http://a[b@h/") == "bad userinfo");
  CHECK(parse_error("http://h\\@evil/") == "bad userinfo");
  CHECK(parse_error("http://us%er@h/") == "bad userinfo");
  CHECK(url::parse("http://@h/")->userinfo == "");
  CHECK(parse_error("http://h/a\\b") == "bad character in path");
  CHECK(parse_error("http://h/{tenant}/mcp") == "bad character in path");
  CHECK(parse_error("http://h/a%2") == "bad character in path");
  CHECK(parse_error("http://h/a[0]") == "bad character in path");
  CHECK(parse_error("http://h/?a=\"x\"") == "bad character in query");
  CHECK(parse_error("http://h/?a=%") == "bad character in query");
  CHECK(parse_error("http://h/#a#b") == "bad character in fragment");
  auto p = url::parse("http://h/a:b@c;d=e/%41?x[]=1&y=/?z#frag/?[x]");
  REQUIRE(p);
  CHECK(p->path == "/a:b@c;d=e/%41");
  CHECK(p->query == "x[]=1&y=/?z");
  CHECK(p->fragment == "frag/?[x]");
}

TEST_CASE("url: parse without an error pointer") {
  CHECK_FALSE(url::parse("ftp://h/"));
  CHECK(url::parse("http://h/"));
}

TEST_CASE("url: origin always carries the port") {
  CHECK(url::origin(*url::parse("https://Example.com/mcp?x#y")) == "https://example.com:443");
  CHECK(url::origin(*url::parse("http://u:p@h:8080/")) == "http://h:8080");
  CHECK(url::origin(*url::parse("http://[::1]/")) == "http://[::1]:80");
}

TEST_CASE("url: same_origin compares scheme, host and port") {
  auto a = *url::parse("https://example.com/mcp");
  CHECK(url::same_origin(a, *url::parse("HTTPS://EXAMPLE.com:443/other?q")));
  CHECK(url::same_origin(a, *url::parse("https://user@example.com/")));
  CHECK_FALSE(url::same_origin(a, *url::parse("http://example.com:443/mcp")));
  CHECK_FALSE(url::same_origin(a, *url::parse("https://example.com:8443/mcp")));
  CHECK_FALSE(url::same_origin(a, *url::parse("https://evil.example.com/mcp")));
  CHECK_FALSE(url::same_origin(*url::parse("http://h/"), *url::parse("https://h:80/")));
}

TEST_CASE("url: redacted hides userinfo and query, drops the fragment") {
  CHECK(url::redacted("https://user:s3cret@host/mcp?key=s3cret#frag") ==
        "https://<redacted>@host/mcp?<redacted>");
  CHECK(url::redacted("HTTP://Host:8080/mcp") == "http://host:8080/mcp");
  CHECK(url::redacted("https://host") == "https://host");
  CHECK(url::redacted("https://host/sse#x") == "https://host/sse");
  CHECK(url::redacted("https://[::1]:3001/?t=1") == "https://[::1]:3001/?<redacted>");
  CHECK(url::redacted("https://host/?") == "https://host/");
  CHECK(url::redacted("ftp://user:s3cret@host/") == "<unparsable url>");
  CHECK(url::redacted("https://host/a b?token=s3cret") == "<unparsable url>");
  CHECK(url::redacted("") == "<unparsable url>");
}
