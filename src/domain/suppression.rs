//! Complementary suppression: which barrier figures the summaries of a server withhold.
//!
//! A server has a summary per school and one for every school together, all readable in the
//! same leadership channel. In each barrier category the all-schools figure is the sum of the
//! schools' figures, so withholding only the small ones is not enough: a lone withheld cell is
//! the total minus the cells shown. What is withheld is therefore decided for a whole category
//! at once, across every school and the total, and every summary asks this one function, so a
//! school's summary and the all-schools summary always agree.
//!
//! The rule, per category:
//! - a figure about fewer than the minimum of distinct people is withheld (the total counts a
//!   person who raised barriers at two schools once; when the total is small, every school's
//!   figure is too, and all of them are withheld);
//! - a withheld school figure must not be the only one in its category while the total is
//!   shown, nor may the withheld figures add up to no more than one barrier each (each is at
//!   least one, so they would all be known to be one): while that is so, the smallest figure
//!   still shown is withheld as well; when none is left, the total is withheld.
//!
//! Schools with no open barrier in a category show nothing for it: a known zero, never a
//! figure about anyone.

use std::collections::{BTreeMap, BTreeSet};

use super::ids::SchoolId;

/// One school's open barriers of one category.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    /// How many are open.
    pub count: usize,
    /// How many distinct people raised them.
    pub people: usize,
}

/// One category across the server: each school's cell, and how many distinct people raised
/// it in all the schools together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    pub cells: BTreeMap<SchoolId, Cell>,
    pub people: usize,
}

impl Row {
    /// The all-schools count.
    pub fn total(&self) -> usize {
        self.cells.values().map(|c| c.count).sum()
    }
}

/// What one category's summaries withhold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Withheld {
    /// The schools whose figure is withheld.
    pub schools: BTreeSet<SchoolId>,
    /// The all-schools figure is withheld.
    pub total: bool,
}

impl Withheld {
    /// Whether the figure of `school` (or the all-schools figure, for None) is withheld.
    pub fn covers(&self, school: Option<SchoolId>) -> bool {
        school.map_or(self.total, |id| self.schools.contains(&id))
    }
}

/// Decides which figures of one category are withheld so that none about fewer than
/// `min_group` people is shown or can be worked out from those shown.
pub fn suppression(row: &Row, min_group: usize) -> Withheld {
    let open: Vec<(SchoolId, Cell)> = row
        .cells
        .iter()
        .filter(|(_, c)| c.count > 0)
        .map(|(id, c)| (*id, *c))
        .collect();
    if open.is_empty() {
        return Withheld::default();
    }
    if row.people < min_group {
        return Withheld {
            schools: open.iter().map(|(id, _)| *id).collect(),
            total: true,
        };
    }
    let mut schools: BTreeSet<SchoolId> = open
        .iter()
        .filter(|(_, c)| c.people < min_group)
        .map(|(id, _)| *id)
        .collect();
    loop {
        let hidden: usize = open
            .iter()
            .filter(|(id, _)| schools.contains(id))
            .map(|(_, c)| c.count)
            .sum();
        if schools.is_empty() || (schools.len() >= 2 && hidden > schools.len()) {
            return Withheld {
                schools,
                total: false,
            };
        }
        let smallest = open
            .iter()
            .filter(|(id, _)| !schools.contains(id))
            .min_by_key(|(id, c)| (c.count, *id));
        match smallest {
            Some((id, _)) => {
                schools.insert(*id);
            }
            None => {
                return Withheld {
                    schools,
                    total: true,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three schools, as in the tests: Lincoln, Washington, Roosevelt.
    const SCHOOLS: [SchoolId; 3] = [SchoolId::new(1), SchoolId::new(2), SchoolId::new(3)];

    /// A row where every barrier was raised by a different person (counts are people).
    fn row(counts: [usize; 3]) -> Row {
        Row {
            cells: SCHOOLS
                .iter()
                .zip(counts)
                .map(|(id, n)| {
                    (
                        *id,
                        Cell {
                            count: n,
                            people: n,
                        },
                    )
                })
                .collect(),
            people: counts.iter().sum(),
        }
    }

    /// The withheld figures a reader of every summary could work out from the figures shown:
    /// the total minus the schools shown (absent schools show a zero) leaves the sum of the
    /// withheld ones; one withheld figure is then known, and so are several when that sum
    /// leaves each of them exactly one. A withheld total with every school shown is their sum.
    fn derivable(row: &Row, withheld: &Withheld) -> Vec<String> {
        let open: Vec<(SchoolId, usize)> = row
            .cells
            .iter()
            .filter(|(_, c)| c.count > 0)
            .map(|(id, c)| (*id, c.count))
            .collect();
        let hidden: Vec<SchoolId> = open
            .iter()
            .filter(|(id, _)| withheld.schools.contains(id))
            .map(|(id, _)| *id)
            .collect();
        let shown: usize = open
            .iter()
            .filter(|(id, _)| !withheld.schools.contains(id))
            .map(|(_, n)| n)
            .sum();
        let mut found = Vec::new();
        if withheld.total {
            if hidden.is_empty() && !open.is_empty() {
                found.push(format!("the total is {shown}"));
            }
        } else {
            let rest = row.total() - shown;
            if hidden.len() == 1 || (!hidden.is_empty() && rest == hidden.len()) {
                found.extend(hidden.iter().map(|id| format!("school {id:?} from {rest}")));
            }
        }
        found
    }

    #[test]
    fn three_schools_one_small_cell_withholds_the_next_smallest_too() {
        // Min group 5: Roosevelt's 2 is small; Lincoln's 6 goes with it, Washington's 7 and the
        // total 15 stay.
        let time = row([6, 7, 2]);
        let withheld = suppression(&time, 5);
        assert_eq!(
            withheld,
            Withheld {
                schools: BTreeSet::from([SCHOOLS[0], SCHOOLS[2]]),
                total: false
            }
        );
        assert_eq!(derivable(&time, &withheld), Vec::<String>::new());
        assert!(withheld.covers(Some(SCHOOLS[0])) && !withheld.covers(None));
    }

    #[test]
    fn small_cells_of_one_each_take_a_shown_cell_with_them() {
        // Lincoln 1 and Washington 1 would be known from 7 − 5 = 2 = one each.
        let people = row([1, 1, 5]);
        let withheld = suppression(&people, 5);
        assert_eq!(withheld.schools.len(), 3);
        assert!(!withheld.total);
        assert_eq!(derivable(&people, &withheld), Vec::<String>::new());
    }

    #[test]
    fn a_small_total_is_withheld_with_every_cell() {
        let policy = row([0, 0, 2]);
        let withheld = suppression(&policy, 5);
        assert_eq!(
            withheld,
            Withheld {
                schools: BTreeSet::from([SCHOOLS[2]]),
                total: true
            }
        );
        assert_eq!(derivable(&policy, &withheld), Vec::<String>::new());
    }

    #[test]
    fn nothing_small_nothing_withheld() {
        for counts in [[5, 5, 6], [0, 9, 5], [0, 0, 0], [12, 0, 0]] {
            assert_eq!(
                suppression(&row(counts), 5),
                Withheld::default(),
                "{counts:?}"
            );
        }
    }

    #[test]
    fn people_not_barriers_decide_and_the_total_counts_each_person_once() {
        // One person raised 8 at Lincoln; 5 people raised 5 at Washington; the same 5 and the
        // one make 6 people in all.
        let row = Row {
            cells: BTreeMap::from([
                (
                    SCHOOLS[0],
                    Cell {
                        count: 8,
                        people: 1,
                    },
                ),
                (
                    SCHOOLS[1],
                    Cell {
                        count: 5,
                        people: 5,
                    },
                ),
            ]),
            people: 6,
        };
        let withheld = suppression(&row, 5);
        assert_eq!(withheld.schools, BTreeSet::from([SCHOOLS[0], SCHOOLS[1]]));
        assert!(!withheld.total);
        // Four people in all, though 4 + 3 barriers: everything is withheld.
        let small = Row {
            people: 4,
            ..row.clone()
        };
        assert!(suppression(&small, 5).total);
    }

    #[test]
    fn no_withheld_figure_of_three_schools_can_be_worked_out() {
        // Every combination of 0–7 barriers (one person each) at three schools, min group 5
        // and 3: each small figure is withheld, and none withheld can be worked out.
        for min_group in [3, 5] {
            for a in 0..8 {
                for b in 0..8 {
                    for c in 0..8 {
                        let row = row([a, b, c]);
                        let withheld = suppression(&row, min_group);
                        assert_eq!(
                            derivable(&row, &withheld),
                            Vec::<String>::new(),
                            "{:?} withholding {withheld:?}",
                            [a, b, c]
                        );
                        for (id, cell) in &row.cells {
                            if cell.count > 0 && cell.people < min_group {
                                assert!(withheld.covers(Some(*id)), "{:?}", [a, b, c]);
                            }
                        }
                        if row.people > 0 && row.people < min_group {
                            assert!(withheld.total, "{:?}", [a, b, c]);
                        }
                        // Nothing small, nothing withheld.
                        if row
                            .cells
                            .values()
                            .all(|c| c.count == 0 || c.people >= min_group)
                        {
                            assert_eq!(withheld, Withheld::default(), "{:?}", [a, b, c]);
                        }
                    }
                }
            }
        }
    }
}
