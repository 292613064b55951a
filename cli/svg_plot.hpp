#pragma once
// A minimal SVG line-plot writer for `tlc sweep`: axes with ticks at round values, one polyline
// with markers per series, and a legend with colour swatches to the right of the plot area, where
// no curve can run under it.
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

// Ticks at multiples of 1, 2 or 5 × 10^k covering [lo, hi] with about `target` intervals.
struct Ticks {
  double lo, hi, step;
};
inline Ticks nice_ticks(double lo, double hi, int target = 5) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 5.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step};
}

inline std::string tick_text(double v, double step) {
  char buf[32];
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::abs(v) < step * 1e-6 ? 0.0 : v);
  return buf;
}

inline std::string svg_line_plot(const std::vector<Series>& series, const std::string& title, const std::string& xlabel,
                                 const std::string& ylabel) {
  const double W = 720, H = 420, left = 70, right = 150, top = 40, bottom = 55;
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
  const Ticks xt = nice_ticks(x0, x1), yt = nice_ticks(y0, y1);
  auto px = [&](double x) { return left + (x - xt.lo) / (xt.hi - xt.lo) * (W - left - right); };
  auto py = [&](double y) { return top + (yt.hi - y) / (yt.hi - yt.lo) * (H - top - bottom); };
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(2);
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << (left + W - right) / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << title
     << "</text>\n";
  for (double v = xt.lo; v <= xt.hi + xt.step * 1e-6; v += xt.step)
    os << "<line x1=\"" << px(v) << "\" y1=\"" << H - bottom << "\" x2=\"" << px(v) << "\" y2=\"" << H - bottom + 5
       << "\" stroke=\"black\"/>\n<text x=\"" << px(v) << "\" y=\"" << H - bottom + 18 << "\" text-anchor=\"middle\">"
       << tick_text(v, xt.step) << "</text>\n";
  for (double v = yt.lo; v <= yt.hi + yt.step * 1e-6; v += yt.step)
    os << "<line x1=\"" << left << "\" y1=\"" << py(v) << "\" x2=\"" << W - right << "\" y2=\"" << py(v)
       << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << py(v) + 4 << "\" text-anchor=\"end\">"
       << tick_text(v, yt.step) << "</text>\n";
  os << "<line x1=\"" << left << "\" y1=\"" << H - bottom << "\" x2=\"" << W - right << "\" y2=\"" << H - bottom
     << "\" stroke=\"black\"/>\n<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << H - bottom
     << "\" stroke=\"black\"/>\n";
  os << "<text x=\"" << (left + W - right) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">" << xlabel
     << "</text>\n";
  os << "<text transform=\"translate(16," << (top + H - bottom) / 2 << ") rotate(-90)\" text-anchor=\"middle\">" << ylabel
     << "</text>\n";
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
    // Legend entry: a swatch (line and marker in the series' colour) and the name, outside the plot.
    const double ly = top + 12 + 20 * static_cast<double>(s), lx = W - right + 16;
    os << "<line x1=\"" << lx << "\" y1=\"" << ly << "\" x2=\"" << lx + 24 << "\" y2=\"" << ly << "\" stroke=\"" << c
       << "\" stroke-width=\"2\"/>\n<circle cx=\"" << lx + 12 << "\" cy=\"" << ly << "\" r=\"3\" fill=\"" << c
       << "\"/>\n<text x=\"" << lx + 30 << "\" y=\"" << ly + 4 << "\">" << series[s].name << "</text>\n";
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace tlc::cli
