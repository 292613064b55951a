#pragma once
// A minimal SVG line-plot writer (axes, ticks, one polyline per series, legend) for `tlc sweep`.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace tlc::cli {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

inline std::string svg_line_plot(const std::vector<Series>& series, const std::string& title, const std::string& xlabel,
                                 const std::string& ylabel) {
  const double W = 640, H = 420, left = 70, right = 20, top = 40, bottom = 55;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (auto& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
    }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 - x0 < 1e-12) x1 = x0 + 1;
  const double pad = std::max((y1 - y0) * 0.1, 1e-3);
  y0 -= pad;
  y1 += pad;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (W - left - right); };
  auto py = [&](double y) { return top + (y1 - y) / (y1 - y0) * (H - top - bottom); };
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(2);
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << title << "</text>\n";
  os << "<line x1=\"" << left << "\" y1=\"" << H - bottom << "\" x2=\"" << W - right << "\" y2=\"" << H - bottom
     << "\" stroke=\"black\"/>\n<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << H - bottom
     << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 5; ++i) {
    const double xv = x0 + (x1 - x0) * i / 5, yv = y0 + (y1 - y0) * i / 5;
    os << "<text x=\"" << px(xv) << "\" y=\"" << H - bottom + 18 << "\" text-anchor=\"middle\">" << xv << "</text>\n";
    os << "<text x=\"" << left - 6 << "\" y=\"" << py(yv) + 4 << "\" text-anchor=\"end\">" << yv << "</text>\n";
    os << "<line x1=\"" << left << "\" y1=\"" << py(yv) << "\" x2=\"" << W - right << "\" y2=\"" << py(yv)
       << "\" stroke=\"#ddd\"/>\n";
  }
  os << "<text x=\"" << W / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">" << xlabel << "</text>\n";
  os << "<text transform=\"translate(16," << H / 2 << ") rotate(-90)\" text-anchor=\"middle\">" << ylabel << "</text>\n";
  const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};
  for (size_t s = 0; s < series.size(); ++s) {
    const char* c = colors[s % 5];
    os << "<polyline fill=\"none\" stroke=\"" << c << "\" stroke-width=\"2\" points=\"";
    for (size_t i = 0; i < series[s].x.size(); ++i)
      if (std::isfinite(series[s].y[i])) os << px(series[s].x[i]) << "," << py(series[s].y[i]) << " ";
    os << "\"/>\n";
    for (size_t i = 0; i < series[s].x.size(); ++i)
      if (std::isfinite(series[s].y[i]))
        os << "<circle cx=\"" << px(series[s].x[i]) << "\" cy=\"" << py(series[s].y[i]) << "\" r=\"3\" fill=\"" << c << "\"/>\n";
    os << "<text x=\"" << W - right - 150 << "\" y=\"" << top + 16 + 16 * s << "\" fill=\"" << c << "\">" << series[s].name
       << "</text>\n";
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace tlc::cli
