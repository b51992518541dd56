// l2tpvpnd entry point. Early form: see server/daemon.cpp.
#include <cstdio>

int main() {
  std::puts("l2tpvpnd: not yet wired");
  return 1;
}
