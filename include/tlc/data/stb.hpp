#pragma once
// stb_image / stb_image_write (Debian's libstb-dev) compiled into this header.
//
// Why static: tlc is header-only, so there is no .cpp in which stb's implementation could live
// once. STBI_*_STATIC gives every function internal linkage, so each translation unit that
// includes this header gets its own private copy (unused ones are dropped by the linker) and
// nothing clashes with an application that links its own stb build from another translation
// unit. The one thing that cannot work is including <stb/stb_image.h> yourself BEFORE this
// header in the same translation unit (the include guard would hide our static definitions);
// that case stops with the #error below.
//
// Only the decoders we accept are compiled (PNG, JPEG, BMP, TGA): less code facing hostile
// files. The decoders work from memory (STBI_NO_STDIO); errors are stb's longer user messages,
// kept per thread (stb uses thread_local for its failure reason).
#if defined(STBI_INCLUDE_STB_IMAGE_H) && !defined(TLC_STB_IMAGE_INCLUDED)
#error "tlc/data/stb.hpp: <stb/stb_image.h> was included before tlc's data headers in this file; include tlc first"
#endif

#ifndef TLC_STB_IMAGE_INCLUDED
#define TLC_STB_IMAGE_INCLUDED

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wtype-limits"
#endif

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#include <stb/stb_image.h>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#endif  // TLC_STB_IMAGE_INCLUDED
