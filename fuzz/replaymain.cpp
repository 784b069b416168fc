// The replay driver of the GCC build: a main() that feeds every file of the given folders (or files) to
// LLVMFuzzerTestOneInput once, in name order, so that CTest runs each seed corpus without libFuzzer.
// Arguments starting with '-' (libFuzzer flags such as -runs=0) are ignored, so CTest passes the same
// command line to both builds. A crash names the input it was running; an empty corpus is a failure.

#include "fuzzsupport.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

std::string g_current; // the input being run, for the crash handler

void onFatalSignal(int sig)
{
    const char prefix[] = "\nfuzz replay: crashed on input ";
    [[maybe_unused]] auto r1 = write(2, prefix, sizeof prefix - 1);
    [[maybe_unused]] auto r2 = write(2, g_current.data(), g_current.size());
    [[maybe_unused]] auto r3 = write(2, "\n", 1);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

} // namespace

int main(int argc, char **argv)
{
    namespace fs = std::filesystem;
    std::vector<fs::path> inputs;
    for (int i = 1; i < argc; ++i) {
        if (argv[i][0] == '-')
            continue;
        const fs::path p(argv[i]);
        if (fs::is_directory(p)) {
            for (const fs::directory_entry &e : fs::recursive_directory_iterator(p))
                if (e.is_regular_file())
                    inputs.push_back(e.path());
        } else if (fs::is_regular_file(p)) {
            inputs.push_back(p);
        } else {
            std::fprintf(stderr, "fuzz replay: no such file or folder: %s\n", argv[i]);
            return 2;
        }
    }
    if (inputs.empty()) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE... (found no input)\n", argv[0]);
        return 2;
    }
    std::sort(inputs.begin(), inputs.end());
    for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL})
        std::signal(sig, onFatalSignal);
    for (const fs::path &p : inputs) {
        g_current = p.string();
        std::ifstream in(p, std::ios::binary);
        const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(data.data()), data.size());
    }
    std::printf("fuzz replay: %zu inputs, no crash\n", inputs.size());
    return 0;
}
