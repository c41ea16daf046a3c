"""The emulated org's metadata: sObjects, their fields and relationships.

One source for describe, SOQL (field checks, parent and child relationships) and write
validation. Field types and lengths follow the standard objects; the write-back fields are the
custom fields the app maps to (``BigTime_…__c``) plus a custom object of invoice rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str  # id string textarea picklist boolean currency double percent int date datetime reference email phone url
    label: str = ""
    length: int = 0
    updateable: bool = True
    createable: bool = True
    nillable: bool = True
    custom: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None  # e.g. "Account" for AccountId
    picklist: tuple[str, ...] = ()
    external_id: bool = False
    precision: int = 0
    scale: int = 0


@dataclass(frozen=True)
class ChildRelationship:
    name: str  # e.g. "OpportunityContactRoles"
    child_object: str  # e.g. "OpportunityContactRole"
    field: str  # the lookup on the child, e.g. "OpportunityId"


@dataclass
class ObjectDef:
    name: str
    label: str
    key_prefix: str
    fields: dict[str, FieldDef] = field(default_factory=dict)  # key: field name lower-cased
    child_relationships: dict[str, ChildRelationship] = field(default_factory=dict)  # key: lower-cased
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    custom: bool = False

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())

    def parent_relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is ``name`` (case-insensitive)."""
        lowered = name.lower()
        for f in self.fields.values():
            if f.relationship_name and f.relationship_name.lower() == lowered:
                return f
        return None

    def child_relationship(self, name: str) -> ChildRelationship | None:
        return self.child_relationships.get(name.lower())


def _label(name: str) -> str:
    base = name[:-3] if name.endswith("__c") else name
    if base.endswith("Id") and len(base) > 2:
        base = base[:-2] + " ID"
    return base.replace("_", " ")


def _f(name: str, type_: str, **kw: object) -> FieldDef:
    kw.setdefault("label", _label(name))
    kw.setdefault("custom", name.endswith("__c"))
    if type_ in ("string", "textarea", "picklist", "email", "phone", "url") and "length" not in kw:
        kw["length"] = {"email": 80, "phone": 40, "url": 255, "picklist": 255, "textarea": 32000}.get(type_, 255)
    if type_ in ("currency", "double", "percent") and "precision" not in kw:
        kw["precision"], kw["scale"] = 18, 2
    return FieldDef(name, type_, **kw)  # type: ignore[arg-type]


def _permission_of_a_set() -> list:
    """The two fields a FieldPermissions and an ObjectPermissions row share: its set and its object."""
    return [
        _f(
            "ParentId",
            "reference",
            label="Parent ID",
            reference_to="PermissionSet",
            relationship_name="Parent",
            length=18,
            nillable=False,
            updateable=False,
        ),
        _f("SobjectType", "picklist", label="Sobject Type Name", nillable=False, updateable=False),
    ]


def _system_fields() -> list[FieldDef]:
    ro = {"updateable": False, "createable": False}
    return [
        _f("Id", "id", label="Record ID", length=18, nillable=False, **ro),
        _f("IsDeleted", "boolean", label="Deleted", nillable=False, **ro),
        _f("CreatedDate", "datetime", nillable=False, **ro),
        _f(
            "CreatedById",
            "reference",
            reference_to="User",
            relationship_name="CreatedBy",
            length=18,
            nillable=False,
            **ro,
        ),
        _f("LastModifiedDate", "datetime", nillable=False, **ro),
        _f(
            "LastModifiedById",
            "reference",
            reference_to="User",
            relationship_name="LastModifiedBy",
            length=18,
            nillable=False,
            **ro,
        ),
        _f("SystemModstamp", "datetime", label="System Modstamp", nillable=False, **ro),
    ]


def _object(
    name: str,
    label: str,
    prefix: str,
    fields: list[FieldDef],
    children: list[ChildRelationship] = (),  # type: ignore[assignment]
    *,
    history: bool = False,
    **kw: bool,
) -> ObjectDef:
    """``history``: a history object (OpportunityHistory): never modified, so no LastModified fields."""
    obj = ObjectDef(name, label, prefix, custom=name.endswith("__c"), **kw)
    system = [f for f in _system_fields() if not (history and f.name.startswith("LastModified"))]
    for f in system + fields:
        obj.fields[f.name.lower()] = f
    for c in children:
        obj.child_relationships[c.name.lower()] = c
    return obj


STAGE_NAMES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
CONTACT_ROLES = (
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
)
_RO = {"updateable": False, "createable": False}
OWNER = {"reference_to": "User", "relationship_name": "Owner", "length": 18}
# OpportunityHistory's ForecastCategory values (the object reference), and the Opportunity's
# ForecastCategoryName each one is recorded as.
HISTORY_FORECAST_CATEGORIES = {
    "Omitted": "Omitted",
    "Pipeline": "Pipeline",
    "Best Case": "BestCase",
    "Commit": "Forecast",
    "Closed": "Closed",
}
# The Opportunity fields whose change makes a new OpportunityHistory row (the object reference:
# "Amount, Probability, Stage, or Close Date"; the forecast category is recorded with them).
HISTORY_TRACKED = ("StageName", "Amount", "Probability", "CloseDate", "ForecastCategoryName")

# The user permissions the emulated PermissionSet carries (``Permissions<Name>`` fields).
PERMISSION_FLAGS = (
    "ApiEnabled",
    "ViewSetup",
    "ModifyAllData",
    "ViewAllData",
    "CustomizeApplication",
    "ManageProfilesPermissionsets",
    "AssignPermissionSets",
)

# The write-back fields the app maps to on Opportunity (the wizard checks them via describe).
OPPORTUNITY_WRITEBACK_FIELDS = (
    _f("BigTime_Project_Id__c", "string", label="BigTime Project ID", length=40, external_id=True),
    _f("BigTime_Project_URL__c", "url", label="BigTime Project URL"),
    _f("BigTime_Budget_Fees__c", "currency", label="BigTime Budget (Fees)"),
    _f("BigTime_Budget_Hours__c", "double", label="BigTime Budget (Hours)"),
    _f("BigTime_Budget_Expenses__c", "currency", label="BigTime Budget (Expenses)"),
    _f("BigTime_Budget_Total__c", "currency", label="BigTime Budget (Total)"),
    _f("BigTime_Hours_Logged__c", "double", label="BigTime Hours Logged"),
    _f("BigTime_Expenses_Logged__c", "currency", label="BigTime Expenses Logged"),
    _f("BigTime_WIP__c", "currency", label="BigTime WIP"),
    _f("BigTime_Invoiced_To_Date__c", "currency", label="BigTime Invoiced to Date"),
    _f("BigTime_Paid_To_Date__c", "currency", label="BigTime Paid to Date"),
    _f("BigTime_Last_Sync__c", "datetime", label="BigTime Last Sync"),
)


def build_schema() -> dict[str, ObjectDef]:
    """A fresh copy of the org's metadata (keyed by lower-cased object name)."""
    objects = [
        _object(
            "User",
            "User",
            "005",
            [
                _f("Username", "string", length=80, nillable=False),
                _f("Name", "string", length=121, updateable=False, createable=False),
                _f("FirstName", "string", length=40),
                _f("LastName", "string", length=80, nillable=False),
                _f("Email", "email", nillable=False),
                _f("IsActive", "boolean", label="Active", nillable=False),
                _f("Title", "string", length=80),
            ],
            createable=False,
            deletable=False,
        ),
        _object(
            "Organization",
            "Organization",
            "00D",
            [
                _f("Name", "string", label="Name", length=80, updateable=False, createable=False),
                _f(
                    "OrganizationType",
                    "picklist",
                    label="Edition",
                    updateable=False,
                    createable=False,
                    picklist=("Developer Edition", "Enterprise Edition", "Unlimited Edition", "Professional Edition"),
                ),
                _f("IsSandbox", "boolean", updateable=False, createable=False),
                _f("InstanceName", "string", length=5, updateable=False, createable=False),
            ],
            createable=False,
            updateable=False,
            deletable=False,
        ),
        _object(
            "Account",
            "Account",
            "001",
            [
                _f("Name", "string", label="Account Name", nillable=False),
                _f(
                    "Type",
                    "picklist",
                    label="Account Type",
                    picklist=("Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"),
                ),
                _f(
                    "Industry",
                    "picklist",
                    picklist=(
                        "Banking",
                        "Consulting",
                        "Education",
                        "Energy",
                        "Healthcare",
                        "Manufacturing",
                        "Media",
                        "Retail",
                        "Technology",
                        "Other",
                    ),
                ),
                _f("BillingStreet", "textarea", length=255),
                _f("BillingCity", "string", length=40),
                _f("BillingState", "string", length=80),
                _f("BillingPostalCode", "string", length=20),
                _f("BillingCountry", "string", length=80),
                _f("Phone", "phone", label="Account Phone"),
                _f("Fax", "phone", label="Account Fax"),
                _f("Website", "url"),
                _f("Description", "textarea"),
                _f("OwnerId", "reference", label="Owner ID", **OWNER),  # type: ignore[arg-type]
                # ours: the account's BigTime client (its id), and the claim while it is being created
                _f("BigTime_Client_Id__c", "string", label="BigTime Client ID", length=40, external_id=True),
            ],
            [
                ChildRelationship("Contacts", "Contact", "AccountId"),
                ChildRelationship("Opportunities", "Opportunity", "AccountId"),
            ],
        ),
        _object(
            "Contact",
            "Contact",
            "003",
            [
                _f("AccountId", "reference", reference_to="Account", relationship_name="Account", length=18),
                _f("FirstName", "string", length=40),
                _f("LastName", "string", length=80, nillable=False),
                _f("Name", "string", label="Full Name", length=121, updateable=False, createable=False),
                _f("Title", "string", length=128),
                _f("Email", "email"),
                _f("Phone", "phone", label="Business Phone"),
                _f("MobilePhone", "phone"),
                _f("OtherPhone", "phone"),
                _f("MailingStreet", "textarea", length=255),
                _f("MailingCity", "string", length=40),
                _f("MailingState", "string", length=80),
                _f("MailingPostalCode", "string", length=20),
                _f("MailingCountry", "string", length=80),
                _f("OwnerId", "reference", label="Owner ID", **OWNER),  # type: ignore[arg-type]
            ],
            [
                ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "ContactId"),
            ],
        ),
        _object(
            "OpportunityStage",
            "Opportunity Stage",
            "01J",
            [
                _f("ApiName", "string", label="Api Name", updateable=False, createable=False),
                _f("MasterLabel", "string", label="Master Label", updateable=False, createable=False),
                _f("IsActive", "boolean", updateable=False, createable=False),
                _f("IsClosed", "boolean", updateable=False, createable=False),
                _f("IsWon", "boolean", updateable=False, createable=False),
                _f("SortOrder", "int", label="Sort Order", updateable=False, createable=False),
                _f("DefaultProbability", "percent", updateable=False, createable=False),
                _f(
                    "ForecastCategoryName",
                    "picklist",
                    picklist=("Omitted", "Pipeline", "Best Case", "Commit", "Closed"),
                    updateable=False,
                    createable=False,
                ),
                _f("Description", "string", updateable=False, createable=False),
            ],
            createable=False,
            updateable=False,
            deletable=False,
        ),
        _object(
            "Opportunity",
            "Opportunity",
            "006",
            [
                _f("Name", "string", length=120, nillable=False),
                _f("AccountId", "reference", reference_to="Account", relationship_name="Account", length=18),
                _f("StageName", "picklist", label="Stage", picklist=STAGE_NAMES, nillable=False),
                _f("Amount", "currency"),
                _f("CloseDate", "date", nillable=False),
                _f("Probability", "percent", label="Probability (%)", precision=3, scale=0),
                _f("Description", "textarea"),
                _f("Type", "picklist", label="Opportunity Type", picklist=("Existing Business", "New Business")),
                _f(
                    "LeadSource",
                    "picklist",
                    picklist=("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"),
                ),
                _f("NextStep", "string"),
                _f("IsClosed", "boolean", label="Closed", updateable=False, createable=False),
                _f("IsWon", "boolean", label="Won", updateable=False, createable=False),
                _f(
                    "ForecastCategoryName",
                    "picklist",
                    label="Forecast Category",
                    picklist=("Omitted", "Pipeline", "Best Case", "Commit", "Closed"),
                ),
                _f("OwnerId", "reference", label="Owner ID", **OWNER),  # type: ignore[arg-type]
                *OPPORTUNITY_WRITEBACK_FIELDS,
            ],
            [
                ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "OpportunityId"),
                ChildRelationship("OpportunityHistories", "OpportunityHistory", "OpportunityId"),
                ChildRelationship("BigTime_Invoices__r", "BigTime_Invoice__c", "Opportunity__c"),
            ],
        ),
        # Read-only: Salesforce writes a row when an opportunity is created and whenever one of
        # HISTORY_TRACKED changes, with the then-current values (the object reference's field list).
        _object(
            "OpportunityHistory",
            "Opportunity History",
            "008",
            [
                _f(
                    "OpportunityId",
                    "reference",
                    label="Opportunity ID",
                    reference_to="Opportunity",
                    relationship_name="Opportunity",
                    length=18,
                    nillable=False,
                    **_RO,
                ),  # type: ignore[arg-type]
                _f("StageName", "picklist", label="Stage Name", picklist=STAGE_NAMES, nillable=False, **_RO),  # type: ignore[arg-type]
                _f("Amount", "currency", **_RO),  # type: ignore[arg-type]
                _f("ExpectedRevenue", "currency", label="Expected Revenue", **_RO),  # type: ignore[arg-type]
                _f("CloseDate", "date", label="Close Date", **_RO),  # type: ignore[arg-type]
                _f("Probability", "percent", precision=3, scale=0, **_RO),  # type: ignore[arg-type]
                _f(
                    "ForecastCategory",
                    "picklist",
                    label="To Forecast Category",
                    picklist=("BestCase", "Closed", "Forecast", "MostLikely", "Omitted", "Pipeline"),
                    **_RO,
                ),  # type: ignore[arg-type]
                _f("PrevAmount", "currency", label="Previous Amount", **_RO),  # type: ignore[arg-type]
                _f("PrevCloseDate", "date", label="Previous Close Date", **_RO),  # type: ignore[arg-type]
            ],
            history=True,
            createable=False,
            updateable=False,
            deletable=False,
        ),
        _object(
            "OpportunityContactRole",
            "Opportunity Contact Role",
            "00K",
            [
                _f(
                    "OpportunityId",
                    "reference",
                    reference_to="Opportunity",
                    relationship_name="Opportunity",
                    length=18,
                    nillable=False,
                    updateable=False,
                ),
                _f(
                    "ContactId",
                    "reference",
                    reference_to="Contact",
                    relationship_name="Contact",
                    length=18,
                    nillable=False,
                ),
                _f("Role", "picklist", picklist=CONTACT_ROLES),
                _f("IsPrimary", "boolean", label="Primary", nillable=False),
            ],
        ),
        # Setup objects (the object reference): who may do what. A profile is a permission set too
        # (IsOwnedByProfile); the Tooling API emulation (tooling.py) checks them and writes them.
        _object(
            "PermissionSet",
            "Permission Set",
            "0PS",
            [
                _f("Name", "string", length=80, nillable=False),
                _f("Label", "string", length=80, nillable=False),
                _f("Description", "textarea", length=255),
                _f("IsOwnedByProfile", "boolean", label="Is Owned By Profile", nillable=False, **_RO),  # type: ignore[arg-type]
                *(_f(f"Permissions{p}", "boolean", nillable=False) for p in PERMISSION_FLAGS),
            ],
            [
                ChildRelationship("FieldPerms", "FieldPermissions", "ParentId"),
                ChildRelationship("ObjectPerms", "ObjectPermissions", "ParentId"),
                ChildRelationship("Assignments", "PermissionSetAssignment", "PermissionSetId"),
            ],
            updateable=True,
        ),
        _object(
            "FieldPermissions",
            "Field Permissions",
            "01k",
            [
                *_permission_of_a_set(),
                _f("Field", "string", label="Field Name", length=255, nillable=False, updateable=False),
                _f("PermissionsRead", "boolean", label="Read Access", nillable=False),
                _f("PermissionsEdit", "boolean", label="Edit Access", nillable=False),
            ],
        ),
        _object(
            "ObjectPermissions",
            "Object Permissions",
            "110",
            [
                *_permission_of_a_set(),
                *(
                    _f(f"Permissions{p}", "boolean", nillable=False)
                    for p in ("Read", "Create", "Edit", "Delete", "ViewAllRecords", "ModifyAllRecords")
                ),
            ],
        ),
        _object(
            "PermissionSetAssignment",
            "Permission Set Assignment",
            "0Pa",
            [
                _f(
                    "AssigneeId",
                    "reference",
                    label="Assignee ID",
                    reference_to="User",
                    relationship_name="Assignee",
                    length=18,
                    nillable=False,
                    updateable=False,
                ),
                _f(
                    "PermissionSetId",
                    "reference",
                    label="Permission Set ID",
                    reference_to="PermissionSet",
                    relationship_name="PermissionSet",
                    length=18,
                    nillable=False,
                    updateable=False,
                ),
            ],
            updateable=False,
        ),
        _object(
            "BigTime_Invoice__c",
            "BigTime Invoice",
            "a01",
            [
                _f("Name", "string", label="Invoice Number", length=80, nillable=False),
                _f(
                    "Opportunity__c",
                    "reference",
                    label="Opportunity",
                    reference_to="Opportunity",
                    relationship_name="Opportunity__r",
                    length=18,
                ),
                _f("BigTime_Invoice_Id__c", "string", label="BigTime Invoice ID", length=40, external_id=True),
                _f("Invoice_Date__c", "date", label="Invoice Date"),
                _f("Amount__c", "currency", label="Amount"),
                _f("Paid__c", "currency", label="Paid"),
                _f("Status__c", "string", label="Status", length=40),
            ],
        ),
    ]
    return {o.name.lower(): o for o in objects}
