#include "api/http_client.hpp"
#include "cli/app.hpp"

int main(int argc, char** argv) {
  // libcurl's global state is set up once, before any thread exists (libcurl docs).
  qetl::CurlGlobal curl;
  return qetl::cli::run(argc, argv);
}
