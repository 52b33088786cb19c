#pragma once
// subset_exceeds_superset (SPEC "Data checks"). Private to the checks module.
#include <string>
#include <vector>

#include "checks/check_tables.hpp"
#include "checks/label_sets.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl::checks_detail {

// Within one bucket (snapshot, project, environment, window_name, window_from), cell A is a
// subset of cell B (A != B) when every dimension B filters on is filtered in A on a label
// B's label contains (LabelSets::contains); A may filter more dimensions than B. A finding per
// cell A and count metric whose value exceeds a superset's value v by more than
// max(1, tolerance * v); `expected` is the smallest such v (ties: the first superset segment in
// text order), so one contradiction is reported once, against its starkest witness.
//
// Cost: the supersets of each distinct segment are found once, by looking up the combinations
// that relax its filters (each filter kept, widened to a containing label, or dropped), or by
// comparing with every segment when there are fewer segments than such combinations; then each
// cell looks its supersets up in its own bucket. Supersets missing from the matrix only shrink
// that list: every superset present is found, however far.
void find_subset_violations(const CheckTables& tables, const LabelSets& labels, double tolerance,
                            const std::string& run_id, std::vector<DataCheckFinding>& out);

}  // namespace qetl::checks_detail
