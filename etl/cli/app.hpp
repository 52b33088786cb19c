#pragma once
// Dispatch of the commands and the one place exceptions become exit codes.
namespace qetl::cli {

int run(int argc, char** argv);

}  // namespace qetl::cli
