"""The demo company's fixed facts: people, companies, sources and the lead definition's rules.

Everything here is plain data. The figures for sources follow the seed article on lead source
analysis (Content Syndication: $23.15 per raw lead, 1.28% of raw leads become qualified); the
other sources' figures are invented but keep the article's shape: cheap sources qualify poorly,
the webcast with an authority is expensive and converts well, organic web costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from leadflow.accounts.models import Role, Side

# --- demo users ---------------------------------------------------------------------------
# (username, role, team side or None, first name, last name). The first seven are the names the
# issue asks for; the other reps make the queues and reports look like a real team.
USERS: tuple[tuple[str, str, str | None, str, str], ...] = (
    ("marketing", Role.MARKETING, Side.MARKETING, "Maya", "Okafor"),
    ("marketing-manager", Role.MANAGER, Side.MARKETING, "Ines", "Carvalho"),
    ("sdr", Role.INSIDE_SALES, Side.INSIDE_SALES, "Sam", "Delgado"),
    ("ae", Role.FIELD_SALES, Side.FIELD_SALES, "Alex", "Brennan"),
    ("sales-manager", Role.MANAGER, Side.INSIDE_SALES, "Priya", "Raman"),
    ("arbiter", Role.ARBITER, Side.ARBITER, "Grace", "Whitlock"),
    ("admin", Role.ADMIN, None, "Ada", "Admin"),
    ("marketing2", Role.MARKETING, Side.MARKETING, "Tomás", "Ferreira"),
    ("sdr2", Role.INSIDE_SALES, Side.INSIDE_SALES, "Jordan", "Kim"),
    ("sdr3", Role.INSIDE_SALES, Side.INSIDE_SALES, "Leah", "Novak"),
    ("sdr4", Role.INSIDE_SALES, Side.INSIDE_SALES, "Marcus", "Bell"),
    ("sdr5", Role.INSIDE_SALES, Side.INSIDE_SALES, "Aisha", "Mensah"),
    ("ae2", Role.FIELD_SALES, Side.FIELD_SALES, "Rebecca", "Lindqvist"),
    ("ae3", Role.FIELD_SALES, Side.FIELD_SALES, "Daniel", "Osei"),
    ("ae4", Role.FIELD_SALES, Side.FIELD_SALES, "Chloe", "Martin"),
    ("field-manager", Role.MANAGER, Side.FIELD_SALES, "Victor", "Hale"),
)
REQUIRED_USERNAMES = (
    "marketing",
    "marketing-manager",
    "sdr",
    "ae",
    "sales-manager",
    "arbiter",
    "admin",
)

# --- people -------------------------------------------------------------------------------
FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Ashley Donald Kimberly Steven Emily Andrew Donna Paul "
    "Michelle Joshua Carol Kenneth Amanda Kevin Melissa Brian Deborah George Stephanie Timothy "
    "Rebecca Ronald Laura Jason Helen Edward Sharon Jeffrey Cynthia Ryan Kathleen Jacob Amy "
    "Gary Angela Nicholas Anna Eric Brenda Jonathan Emma Stephen Olivia Larry Sophia Justin "
    "Grace Scott Chloe Brandon Hannah Benjamin Nora Samuel Julia Gregory Clara Alexander Lena "
    "Patrick Mia Frank Zoe Raymond Ava Jack Leonie Dennis Ingrid Jerry Astrid Tyler Elena "
    "Aaron Lucia Henrik Marta Lukas Sofia Felix Amelie Jonas Hanna Mateo Camila Rahul Priya "
    "Arjun Ananya Wei Mei Hiroshi Yuki Kwame Ama Chinedu Ngozi Omar Leila Tariq Yasmin Pierre "
    "Camille Luca Giulia Sven Freya Pedro Beatriz Diego Valentina Noah Isla Liam Aoife"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales "
    "Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos "
    "Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes "
    "Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Müller Schmidt "
    "Schneider Fischer Weber Becker Hoffmann Dubois Moreau Laurent Bernard Rossi Russo Bianchi "
    "Jansen Visser Bakker Andersson Johansson Nilsson Larsen Hansen Silva Santos Oliveira "
    "Sharma Gupta Singh Iyer Tanaka Suzuki Sato Wang Li Zhang Chen Okafor Mensah Haddad "
    "Khan Byrne Walsh O'Brien MacLeod Fraser"
).split()

# Seniority levels, the fit points the definition gives them, and example titles.
TITLES: dict[str, tuple[str, ...]] = {
    "c_level": (
        "Chief Executive Officer",
        "Chief Revenue Officer",
        "Chief Marketing Officer",
        "Chief Operating Officer",
        "Chief Financial Officer",
        "Chief Information Officer",
        "Founder & CEO",
        "President",
    ),
    "vp": (
        "VP Sales",
        "VP Marketing",
        "VP Demand Generation",
        "VP Sales Operations",
        "VP Revenue Operations",
        "SVP Global Sales",
        "VP Business Development",
        "VP Operations",
    ),
    "director": (
        "Director of Sales",
        "Director of Marketing",
        "Director, Demand Generation",
        "Director of Revenue Operations",
        "Director of Inside Sales",
        "Head of Growth",
        "Head of Marketing Operations",
        "Director of Business Development",
    ),
    "manager": (
        "Sales Manager",
        "Marketing Manager",
        "Demand Generation Manager",
        "Marketing Operations Manager",
        "Sales Operations Manager",
        "Inside Sales Manager",
        "Campaign Manager",
        "CRM Manager",
    ),
    "individual": (
        "Marketing Specialist",
        "Sales Operations Analyst",
        "Business Development Representative",
        "Account Executive",
        "Marketing Coordinator",
        "CRM Administrator",
        "Consultant",
        "Data Analyst",
        "Content Marketer",
    ),
    "student": ("Student", "MBA Candidate", "Research Assistant", "Graduate Student"),
}

# --- companies ----------------------------------------------------------------------------
COMPANY_PREFIXES = (
    "North Blue Iron Silver Bright Summit Pioneer Granite Harbor Crescent Cedar Maple Oak "
    "Aspen Falcon Eagle Red Green Clear Swift True Prime Union Atlas Vertex Beacon Keystone "
    "Lake River Stone Sun Star Polar Coastal Metro Alpine Copper Golden Arrow"
).split()
COMPANY_CORES = (
    "wind field bridge point line works gate path crest view ridge wave port brook leaf "
    "stack forge light spring rock wood mark vale haven core shore peak bay"
).split()
COMPANY_WORDS = (
    "Analytics Logistics Health Systems Labs Software Manufacturing Capital Energy Foods "
    "Networks Robotics Insurance Media Partners Consulting Biotech Retail Dynamics Solutions "
    "Materials Security Cloud Financial Devices Aerospace Learning Telecom Freight Pharma"
).split()
COMPANY_EXTRAS = (
    "Holdings",
    "International",
    "Group",
    "Global",
    "Americas",
    "Europe",
    "Industries",
    "Enterprises",
    "Worldwide",
    "Technologies",
)

# (code, weight, top-level domain, phone prefix, legal suffix)
COUNTRIES: tuple[tuple[str, float, str, str, str], ...] = (
    ("US", 52, "com", "+1", "Inc."),
    ("GB", 10, "co.uk", "+44", "Ltd"),
    ("DE", 8, "de", "+49", "GmbH"),
    ("CA", 6, "ca", "+1", "Inc."),
    ("FR", 5, "fr", "+33", "SA"),
    ("NL", 4, "nl", "+31", "B.V."),
    ("AU", 4, "com.au", "+61", "Pty Ltd"),
    ("IE", 2, "ie", "+353", "Ltd"),
    ("SE", 2, "se", "+46", "AB"),
    ("ES", 2, "es", "+34", "S.L."),
    ("IN", 2, "in", "+91", "Pvt Ltd"),
    ("BR", 1.5, "com.br", "+55", "Ltda"),
    ("JP", 1.5, "jp", "+81", "K.K."),
)
# Where the sales teams sell: leads elsewhere are rejected as routed to the wrong territory.
COVERED_COUNTRIES = frozenset({"US", "CA", "GB", "IE", "DE", "FR", "NL", "AU", "SE", "ES"})

INDUSTRIES: tuple[tuple[str, float], ...] = (
    ("Software", 18),
    ("Financial services", 12),
    ("Healthcare", 10),
    ("Manufacturing", 12),
    ("Professional services", 10),
    ("Retail", 7),
    ("Logistics", 6),
    ("Telecommunications", 5),
    ("Education", 5),
    ("Energy", 4),
    ("Media", 4),
    ("Insurance", 5),
    ("Government", 2),
)

# Employee-count bands: (low, high, weight).
COMPANY_SIZES: tuple[tuple[int, int, float], ...] = (
    (2, 49, 34),
    (50, 199, 30),
    (200, 999, 22),
    (1000, 4999, 10),
    (5000, 60000, 4),
)

FREE_MAIL = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com")
COMPETITOR_DOMAINS = ("pipelinepro.io", "leadcanal.com", "funnelforge.com")
STUDENT_DOMAINS = ("student.example.edu", "mail.example.ac.uk", "uni-example.de")

# --- sources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceProfile:
    """How a source behaves. `intent` is the share of raw leads (none, low, active) in-market."""

    name: str
    channel: str
    share: float  # of all raw leads
    cost_per_lead: Decimal | None  # spend per raw lead; None: no spend (organic)
    levels: dict[str, float]  # seniority mix
    intent: tuple[float, float, float]
    junk: float  # students, free mail, competitors, fake records
    neglect: float  # chance the SDR queue lets an MQL of this source expire
    reject_bias: float  # extra chance SDRs reject an MQL of this source before contact
    campaign_kind: str
    first_touch: str  # the activity that made the raw lead
    source_system: str
    missing_phone: float = 0.1
    created_by_marketing: float = 0.0  # share created by a marketer rather than an integration
    manual_qualify: float = 0.0  # share of fitting, interested leads marketing qualifies by hand
    extra: dict = field(default_factory=dict)


_SENIOR = {"c_level": 4, "vp": 14, "director": 24, "manager": 28, "individual": 28, "student": 2}

SOURCES: tuple[SourceProfile, ...] = (
    SourceProfile(
        "Proactive Outbound & Nurturing",
        "outbound",
        0.12,
        Decimal("95.00"),
        {"c_level": 6, "vp": 24, "director": 32, "manager": 26, "individual": 12},
        (0.55, 0.28, 0.17),
        junk=0.01,
        neglect=0.02,
        reject_bias=0.0,
        campaign_kind="quarterly_outbound",
        first_touch="email_click",
        source_system="outbound agency",
        missing_phone=0.0,
        created_by_marketing=1.0,
        manual_qualify=0.85,
    ),
    SourceProfile(
        "Webcast with Authority",
        "webcast",
        0.10,
        Decimal("142.50"),
        {"c_level": 8, "vp": 26, "director": 30, "manager": 24, "individual": 12},
        (0.38, 0.32, 0.30),
        junk=0.02,
        neglect=0.02,
        reject_bias=0.0,
        campaign_kind="monthly_authority_webcast",
        first_touch="webinar_registered",
        source_system="webinar platform",
        created_by_marketing=0.3,
    ),
    SourceProfile(
        "Content Syndication",
        "syndication",
        0.34,
        Decimal("23.15"),
        {"c_level": 2, "vp": 6, "director": 14, "manager": 28, "individual": 44, "student": 6},
        (0.795, 0.175, 0.03),
        junk=0.14,
        neglect=0.22,
        reject_bias=0.28,
        campaign_kind="quarterly_syndication",
        first_touch="content_download",
        source_system="syndication partner",
        missing_phone=0.45,
    ),
    SourceProfile(
        "Educational Webcast",
        "webcast",
        0.14,
        Decimal("61.00"),
        {"c_level": 2, "vp": 7, "director": 16, "manager": 30, "individual": 38, "student": 7},
        (0.645, 0.26, 0.095),
        junk=0.06,
        neglect=0.05,
        reject_bias=0.04,
        campaign_kind="monthly_educational_webcast",
        first_touch="webinar_registered",
        source_system="webinar platform",
        created_by_marketing=0.3,
    ),
    SourceProfile(
        "Title Targeted Webcast",
        "webcast",
        0.12,
        Decimal("84.00"),
        {"c_level": 10, "vp": 34, "director": 36, "manager": 16, "individual": 4},
        (0.58, 0.28, 0.14),
        junk=0.02,
        neglect=0.04,
        reject_bias=0.02,
        campaign_kind="monthly_title_webcast",
        first_touch="webinar_registered",
        source_system="webinar platform",
        created_by_marketing=0.3,
    ),
    SourceProfile(
        "Organic Web",
        "web",
        0.18,
        None,
        {"c_level": 4, "vp": 11, "director": 20, "manager": 27, "individual": 33, "student": 5},
        (0.62, 0.23, 0.15),
        junk=0.09,
        neglect=0.05,
        reject_bias=0.03,
        campaign_kind="website",
        first_touch="form_fill",
        source_system="website",
        missing_phone=0.3,
    ),
)

SYNDICATION_PARTNERS = (  # (name, price factor around the source's cost per raw lead)
    ("B2B Reach", 0.86),
    ("Whitepaper Hub", 1.08),
    ("IT Briefings Network", 1.04),
    ("Demand Desk", 0.97),
)
AUTHORITIES = (
    "Dana Whitfield (industry analyst)",
    "Prof. Martin Okoro",
    "Elena Sokolova (former CRO)",
    "Raj Menon (research director)",
    "Hannah Greer (author)",
    "Luis Ortega (SiriusView)",
)
WEBCAST_TOPICS = (
    "Ending the war between sales and marketing",
    "Lead definitions that both sides sign",
    "Speed to lead: the first hour",
    "Nurture programmes that recycle",
    "Cost per qualified lead by source",
    "Building a prospect development team",
    "Service levels for hand-offs",
    "Win/loss reviews that change the funnel",
    "Forecasting from the top of the funnel",
    "Scoring fit and engagement",
    "Marketing ops for mid-size B2B",
    "Pipeline hygiene",
)
TITLE_GROUPS = (
    "VPs of Sales",
    "CMOs",
    "Heads of Revenue Operations",
    "Sales Directors",
    "CROs",
    "Demand Generation Directors",
)
OUTBOUND_SEGMENTS = (
    "Revenue leaders",
    "Operations leaders",
    "Marketing leaders",
    "IT leaders",
)
WEBSITE_CAMPAIGNS = (  # (name, weight)
    ("Website: demo request", 0.30),
    ("Website: contact us", 0.20),
    ("Blog subscription", 0.25),
    ("Website: pricing page", 0.15),
    ("Website: ROI calculator", 0.10),
)
ASSETS = (
    "The Truth About Leads (e-book)",
    "Lead Flow Benchmark Report",
    "SLA Template for Hand-offs",
    "Cost per Qualified Lead Calculator",
    "Nurture Playbook",
    "Lead Definition Worksheet",
    "Buyer's Guide to Lead Management",
)
WEB_PAGES = (
    "/",
    "/product",
    "/product/routing",
    "/product/reports",
    "/customers",
    "/blog/speed-to-lead",
    "/blog/lead-definition",
    "/blog/nurture",
    "/integrations",
    "/about",
)

# --- the lead definition v1 ---------------------------------------------------------------
# The demo scores leads with these rules, which are leadflow's starter definition
# (leadflow/scoring/starter.yaml, stored as the demo's v1): tests/test_definition_starter.py
# holds the two to the same scores.
DEFINITION_RULES: dict = {
    "fit": {
        "title_level": {
            "c_level": 30,
            "vp": 25,
            "director": 20,
            "manager": 10,
            "individual": 0,
            "student": -50,
        },
        "employee_count": {"1000+": 20, "200-999": 15, "50-199": 10, "1-49": 0},
        "industry": {
            "Software": 10,
            "Financial services": 10,
            "Healthcare": 10,
            "Manufacturing": 10,
            "Professional services": 10,
        },
        "country_covered": 5,
        "free_mail": -20,
    },
    "engagement": {
        "half_life_days": 30,
        # kind: [points, cap]
        "events": {
            "web_visit": [2, 10],
            "pricing_page_visit": [10, 20],
            "email_open": [1, 5],
            "email_click": [4, 16],
            "webinar_registered": [5, 5],
            "webinar_attended": [15, 15],
            "content_download": [8, 24],
            "form_fill": [12, 24],
            "meeting": [25, 25],
        },
    },
    "mql": {"fit_at_least": 35, "engagement_at_least": 30},
    "sql_evidence": ["decision_maker", "need", "compelling_event"],
    "disqualifiers": {
        "competitor_domains": list(COMPETITOR_DOMAINS),
        "titles": ["Student", "Graduate Student", "MBA Candidate", "Research Assistant"],
    },
}


# --- reasons, comments, evidence ------------------------------------------------------------
REJECT_COMMENTS = {
    "wrong-territory": "{country} is not covered by this team; should go to the partner desk.",
    "wrong-person": "Routed to the wrong rep: {company} is a named account of another team.",
    "already-in-deal": "{company} is already in an open opportunity with field sales.",
    "incomplete-record": "No phone number and no company size; cannot call before the SLA ends.",
    "wrong-contact-data": "E-mail bounced and the phone number belongs to someone else.",
    "below-fit": "{company} has {employees} employees and {title} has no buying role.",
    "no-intent": "One {touch} from {source}; no visit, no reply, no sign of a project.",
    "spam": "Fake record: the name and company do not exist.",
}
RETURN_COMMENTS = {
    "went-cold": "Six calls and three e-mails over two weeks, no answer.",
    "not-ready": "Real interest, but they re-evaluate only after their fiscal year starts.",
    "not-real": "The contact never asked for anything; the download was done by an assistant.",
    "duplicate": "Same person already worked under another e-mail address.",
}
DISQUALIFY_COMMENTS = {
    "no-need": "They built routing in-house last year and are happy with it.",
    "no-authority": "Contact is two levels below any budget owner and will not introduce us.",
    "competitor": "Works for a competitor ({domain}).",
    "student": "Student researching a thesis on sales funnels.",
    "duplicate": "Duplicate of an existing lead.",
    "spam": "Fake form fill.",
}
NURTURE_COMMENTS = {
    "not-ready": "Good fit, project planned for next year; keep them warm.",
    "no-budget-yet": "Interested, but no budget this cycle; revisit next quarter.",
}
LOSS_COMMENTS = {
    "price": "Chose a cheaper tool; our price was 30% higher.",
    "competitor": "Went with {competitor}.",
    "no-decision": "Project stalled; the sponsor left.",
    "product-fit": "Needed a native ERP integration we do not have.",
    "timing": "Pushed to next year after a reorganisation.",
}
NEEDS = (
    "Web leads wait two days for a first call; half are never followed up",
    "No agreed lead definition: SDRs reject a third of MQLs",
    "Cannot report cost per qualified lead by source to the board",
    "Routing by spreadsheet loses leads when reps are away",
    "Marketing and sales disagree on pipeline numbers every quarter",
    "Webinar leads are never nurtured after the event",
)
COMPELLING_EVENTS = (
    "New VP Sales starts on {date} and wants a clean pipeline",
    "Board review of marketing spend on {date}",
    "CRM contract renewal on {date}",
    "Expansion into a new region opens {date}",
    "Sales kick-off on {date} with a new lead process",
    "Funding round closes {date}; target doubles",
)
COMPETITORS = ("PipelinePro", "LeadCanal", "FunnelForge")
