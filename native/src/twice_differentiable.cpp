#include "twice_differentiable.h"

namespace mmdisco {

namespace {
thread_local bool within_scope = false;
}  // namespace

TwiceDifferentiableScope::TwiceDifferentiableScope(bool enabled) : previous_(within_scope) {
  within_scope = previous_ || enabled;
}
TwiceDifferentiableScope::~TwiceDifferentiableScope() { within_scope = previous_; }

bool twice_differentiable() { return within_scope; }

}  // namespace mmdisco
