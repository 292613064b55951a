# Sourced by the scripts: installs the build dependencies with apt-get when they are missing.
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
[ -f /usr/include/catch2/catch.hpp ] || need+=(catch2)
[ -f /usr/include/stb/stb_image.h ] || need+=(libstb-dev)
# Open MPI: data-parallel training (tlc::mpi) and its multi-rank tests.
command -v mpiexec >/dev/null || need+=(openmpi-bin)
dpkg -s libopenmpi-dev >/dev/null 2>&1 || need+=(libopenmpi-dev)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}"
fi
