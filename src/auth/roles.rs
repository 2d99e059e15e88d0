//! The fixed set of roles. A user holds several, each scoped to a department.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Clerk,
    Handler,
    Reviewer,
    Approver,
    DeptHead,
    Leader,
    Supervisor,
    Editor,
    ChiefEditor,
    GeneralEditor,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 12] = [
        Role::Admin,
        Role::Clerk,
        Role::Handler,
        Role::Reviewer,
        Role::Approver,
        Role::DeptHead,
        Role::Leader,
        Role::Supervisor,
        Role::Editor,
        Role::ChiefEditor,
        Role::GeneralEditor,
        Role::Auditor,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Clerk => "clerk",
            Role::Handler => "handler",
            Role::Reviewer => "reviewer",
            Role::Approver => "approver",
            Role::DeptHead => "dept_head",
            Role::Leader => "leader",
            Role::Supervisor => "supervisor",
            Role::Editor => "editor",
            Role::ChiefEditor => "chief_editor",
            Role::GeneralEditor => "general_editor",
            Role::Auditor => "auditor",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Clerk => "窗口人员",
            Role::Handler => "承办人",
            Role::Reviewer => "审核人",
            Role::Approver => "批准人",
            Role::DeptHead => "科室负责人",
            Role::Leader => "分管领导",
            Role::Supervisor => "监察人员",
            Role::Editor => "栏目编辑",
            Role::ChiefEditor => "网站主编",
            Role::GeneralEditor => "网站总编",
            Role::Auditor => "审计员",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s || r.name_zh() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Role::ALL.iter().map(|r| r.code()).collect();
                format!("未知角色 \"{s}\"，可选: {}", known.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_chinese_names_parse_back() {
        for r in Role::ALL {
            assert_eq!(r.code().parse::<Role>().unwrap(), r);
            assert_eq!(r.name_zh().parse::<Role>().unwrap(), r);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.code()));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
