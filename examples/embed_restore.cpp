// What an application author copies: load a tlc model, restore one image with TLC, save it.
//   embed_restore MODEL.safetensors IN.png OUT.png
// Build against an installed tlc: find_package(tlc) + target_link_libraries(app tlc::tlc); the
// install prefix's include folder holds models/ beside tlc/, so nothing else is needed. Build it
// optimised (Release): the library is header-only and runs at your compiler settings.
#include <cstdio>
#include <exception>

#include "tlc/models/inference.hpp"
#include "tlc/models/model_file.hpp"
#include "tlc/data/image.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL.safetensors IN.png OUT.png\n", argv[0]);
    return 2;
  }
  try {
    // The file records the architecture and the training patch size.
    tlc::models::LoadedModel m = tlc::models::load_model(argv[1]);

    // TLC: every global aggregation becomes local, windows = 1.5 x their training-time size
    // (tlc/models/defaults.hpp).
    tlc::models::InferenceOptions opt = tlc::models::inference_options(m.info);  // mode TLC, default scale
    tlc::models::prepare(*m.model, opt);

    tlc::data::Image image = tlc::data::read_image(argv[2]);      // [1,3,H,W] in [0,1]; alpha kept aside
    image.rgb = tlc::models::restore(*m.model, image.rgb, opt);   // no gradients, any size
    tlc::data::write_image(argv[3], image);                       // written atomically
    std::printf("restored %s -> %s (%lldx%lld)\n", argv[2], argv[3], static_cast<long long>(image.width()),
                static_cast<long long>(image.height()));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
