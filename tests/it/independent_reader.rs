//! The main job's output read back by an independent reader (pyarrow, through
//! scripts/check_parquet.py): same schemas and row counts as the input, kept columns equal,
//! transformed columns changed in (nearly) every row, and no high-entropy personal value of
//! the input (emails, phones, IBANs, card numbers, full names, values of 8+ characters)
//! anywhere in the output.

use crate::common;

use common::*;

const KEPT: &[&str] = &[
    "public.customers.created_at",
    "public.customers.loyalty_points",
    "public.customers.country",
    "public.orders.status",
    "public.orders.created_at",
    "public.orders.discount",
    "public.order_items.product_sku",
    "public.order_items.product_name",
    "public.order_items.quantity",
    "public.order_items.unit_price",
    "public.support_tickets.id",
    "public.support_tickets.opened_at",
    "public.support_tickets.closed_on",
    "public.support_tickets.satisfaction",
    "public.support_tickets.channel",
];

const TRANSFORMED: &[&str] = &[
    "public.customers.id",
    "public.customers.first_name",
    "public.customers.last_name",
    "public.customers.email",
    "public.customers.phone",
    "public.customers.date_of_birth",
    "public.customers.street",
    "public.customers.city",
    "public.customers.postcode",
    "public.customers.iban",
    "public.customers.preferences",
    "public.customers.balance",
    "public.orders.id",
    "public.orders.customer_id",
    "public.orders.amount",
    "public.orders.shipping_address",
    "public.orders.ip_address",
    "public.order_items.id",
    "public.order_items.order_id",
    "public.support_tickets.customer_id",
    "public.support_tickets.ticket_uuid",
];

const REDACTED: &[&str] = &["public.customers.notes", "public.support_tickets.subject", "public.support_tickets.body"];

#[test]
fn pyarrow_reads_the_output_with_the_input_schema_and_finds_no_leak() {
    let python = python().expect(
        "DOPPEL_PYTHON is not set to a Python with pyarrow: run the tests with `bash scripts/test.sh`, which installs it",
    );
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let run = run_shop(&out_dir, TEST_KEY, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let mut cmd = std::process::Command::new(python);
    cmd.arg(root().join("scripts/check_parquet.py"))
        .arg("--input")
        .arg(fixture_dir())
        .arg("--output")
        .arg(&out_dir)
        .arg("--kept")
        .args(KEPT)
        .arg("--transformed")
        .args(TRANSFORMED)
        .arg("--redacted")
        .args(REDACTED);
    let out = cmd.output().expect("run check_parquet.py");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "independent check failed:\n{report}");
    assert!(report.contains("doppel.version"), "{report}");
}
