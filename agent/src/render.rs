//! Output of `census-agent inventory`.

use census_inventory::Inventory;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Table,
}

pub fn inventory(inv: &Inventory, format: Format) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(inv).expect("inventory serializes");
            s.push('\n');
            s
        }
        Format::Table => census_inventory::text::inventory(inv),
    }
}
